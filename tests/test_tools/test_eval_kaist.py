"""tools/eval_kaist.py with several detection files: one table row and one
curve per file, figures next to the table (toy KAIST made on the fly)."""
import json

import pytest

from msfam_mm.datasets.kaist.toy_kaist import make_toy_kaist
from msfam_mm.evaluation.kaist import load_gt_from_layout
from msfam_mm.datasets.kaist.frame_ids import read_image_set

TEST_SET = 'imageSets/test-all-20.txt'


@pytest.fixture(scope='module')
def toy_with_dets(tmp_path_factory):
    """Toy KAIST and two COCO result files: ``perfect`` (every person
    box, score 1) and ``half`` (the persons of every other frame)."""
    tmp = tmp_path_factory.mktemp('eval_kaist')
    root = tmp / 'toy'
    make_toy_kaist(str(root), num_frames=8, seed=1)
    frames = read_image_set(str(root / TEST_SET))
    gt = load_gt_from_layout(str(root), frames)
    perfect, half = [], []
    for k, (img_id, frame) in enumerate(sorted(gt.items())):
        for o in frame.objects:
            if o.label != 'person':
                continue
            det = dict(image_id=img_id, bbox=[o.x, o.y, o.w, o.h], score=1.0,
                       category_id=1)
            perfect.append(det)
            if k % 2 == 0:
                half.append(det)
    assert perfect and len(half) < len(perfect)
    for name, dets in (('perfect', perfect), ('half', half)):
        (tmp / f'{name}.bbox.json').write_text(json.dumps(dets))
    return root, tmp


def test_several_detection_files_table_and_figures(toy_with_dets, load_tool,
                                                   capsys):
    root, tmp = toy_with_dets
    tool = load_tool('eval_kaist')
    out = tmp / 'out'
    ret = tool.main([
        '--ann', str(root), '--image-set', TEST_SET, '--det',
        str(tmp / 'perfect.bbox.json'), '--det',
        f'halved={tmp / "half.bbox.json"}', '--out-dir', str(out),
        '--json-out', str(tmp / 'r.json'), '--min-height', '27.5'
    ])
    assert ret == 0
    report = json.loads((tmp / 'r.json').read_text())
    assert list(report) == ['perfect', 'halved']  # file stem, LABEL=
    assert report['perfect']['MR-2_all'] == pytest.approx(0, abs=1e-6)
    assert report['perfect']['AP50'] == pytest.approx(100)
    assert report['halved']['MR-2_all'] > 10
    md = (out / 'kaist_eval.md').read_text()
    lines = md.splitlines()
    assert lines[0].startswith('| Detections | AP | AP<sub>50</sub>')
    assert 'images/s' not in lines[0] and 'Epoch' not in lines[0]
    perfect = [ln for ln in lines if ln.startswith('| perfect |')]
    halved = [ln for ln in lines if ln.startswith('| halved |')]
    assert len(perfect) == len(halved) == 1
    assert '| **1.000** |' in perfect[0]  # AP50, best of the two
    csv = (out / 'kaist_eval.csv').read_text().splitlines()
    assert csv[0].startswith('type,AP,AP50') and len(csv) == 3
    for name in ('miss_rate_fppi.png', 'ap_bars.png'):
        assert (out / name).read_bytes()[:4] == b'\x89PNG'
    assert 'kaist_eval.md' in capsys.readouterr().out


def test_one_detection_file_keeps_the_flat_json(toy_with_dets, load_tool):
    root, tmp = toy_with_dets
    tool = load_tool('eval_kaist')
    assert tool.main(['--ann', str(root), '--image-set', TEST_SET, '--det',
                      str(tmp / 'half.bbox.json'), '--json-out',
                      str(tmp / 'one.json')]) == 0
    report = json.loads((tmp / 'one.json').read_text())
    assert 'MR-2_all' in report and 'AP' in report


def test_repeated_labels_are_a_usage_error(toy_with_dets, load_tool, capsys):
    root, tmp = toy_with_dets
    tool = load_tool('eval_kaist')
    det = str(tmp / 'half.bbox.json')
    assert tool.main(['--ann', str(root), '--image-set', TEST_SET,
                      '--det', det, '--det', det]) == 2
    assert 'labels repeat' in capsys.readouterr().err
