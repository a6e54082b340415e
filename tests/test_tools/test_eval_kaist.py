"""tools/eval_kaist.py: its checks of inputs, the real improved test
annotations, and several detection files giving one table row and one
curve per file, figures next to the table (toy KAIST made on the fly)."""
import json
import math

import numpy as np
import pytest

from msfam_mm.datasets.kaist import (frame_to_img_id, kaist_to_coco,
                                     read_image_set)
from msfam_mm.datasets.kaist.toy_kaist import make_toy_kaist
from msfam_mm.evaluation.kaist import evaluate_miss_rates, load_gt_from_layout

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


def _jittered_dets(gt_frames, seed=0):
    """Plausible detector output: jittered persons, misses and FPs."""
    rng = np.random.default_rng(seed)
    dets = []
    for img_id, frame in gt_frames.items():
        for o in frame.objects:
            if rng.random() < 0.8:
                j = rng.normal(0, 0.08, 4) * [o.w, o.h, o.w, o.h]
                dets.append(dict(image_id=img_id, category_id=1,
                                 bbox=[o.x + j[0], o.y + j[1],
                                       max(2, o.w + j[2]),
                                       max(2, o.h + j[3])],
                                 score=float(rng.uniform(0.3, 1))))
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 600), rng.uniform(150, 300)
            dets.append(dict(image_id=img_id, category_id=1,
                             bbox=[x, y, 30, 70],
                             score=float(rng.uniform(0, 0.8))))
    return dets


@pytest.mark.usefixtures('mmdet_scope')
def test_eval_kaist_tool_on_improved_annotations(kaist_improved_annotations,
                                                 tmp_path, repo_root, capsys,
                                                 load_tool):
    root = str(kaist_improved_annotations)
    frames = read_image_set(root + '/imageSets/test-all-20.txt')
    gt = load_gt_from_layout(root, frames)
    dets = _jittered_dets(gt)
    det_path = tmp_path / 'dets.json'
    det_path.write_text(json.dumps(dets))
    out = tmp_path / 'scores.json'
    tool = load_tool('eval_kaist')
    assert tool.main(['--ann', root, '--image-set',
                      'imageSets/test-all-20.txt', '--det', str(det_path),
                      '--json-out', str(out)]) == 0
    stdout = capsys.readouterr().out
    assert 'MR^-2' in stdout and 'AP_S' in stdout
    scores = json.loads(out.read_text())
    # identical to the protocol functions the metric uses
    per_image = {}
    for d in dets:
        per_image.setdefault(d['image_id'], []).append(d['bbox'] +
                                                       [d['score']])
    ref = evaluate_miss_rates(gt, per_image)
    for name in ('all', 'day', 'night'):
        assert scores[f'MR-2_{name}'] == pytest.approx(
            ref[name]['mr'] * 100)
        assert 5 < scores[f'MR-2_{name}'] < 95
    assert ref['all']['num_images'] == 2252
    assert (ref['day']['num_images'], ref['night']['num_images']) == (1455,
                                                                      797)
    assert 0 < scores['AP'] < scores['AP50'] < 100


@pytest.mark.usefixtures('mmdet_scope')
def test_eval_kaist_tool_inputs(toy_kaist, tmp_path, repo_root, capsys,
                                load_tool):
    tool = load_tool('eval_kaist')
    root = str(toy_kaist)
    frames = read_image_set(root + '/imageSets/sample-all.txt')
    coco = kaist_to_coco(root, frames)
    ann = tmp_path / 'gt.json'
    ann.write_text(json.dumps(coco))
    # frame_id instead of image_id; persons found exactly -> MR 0, AP 100
    dets = [dict(frame_id=frames[0], bbox=a['bbox'], score=1.0)
            for a in coco['annotations']
            if a['image_id'] == frame_to_img_id(frames[0])]
    dets += [dict(image_id=a['image_id'], bbox=a['bbox'], score=1.0,
                  category_id=1) for a in coco['annotations']
             if a['image_id'] != frame_to_img_id(frames[0])]
    unknown = 1 + max(img['id'] for img in coco['images'])
    dets.append(dict(image_id=unknown, bbox=[0, 0, 5, 5], score=1.0))
    det = tmp_path / 'dets.json'
    det.write_text(json.dumps(dets))
    out = tmp_path / 'scores.json'
    assert tool.main(['--ann', str(ann), '--det', str(det), '--json-out',
                      str(out)]) == 0
    assert '1 detected image ids are not in the ground truth' in \
        capsys.readouterr().err
    scores = json.loads(out.read_text())
    assert scores['MR-2_all'] < 1e-6 and scores['AP'] == pytest.approx(100)
    # strict JSON (no NaN): a size range without ground truth is null
    assert 'NaN' not in out.read_text()
    assert all(v is None or math.isfinite(v) for v in scores.values())
    # --category-id keeps only that category (and entries without one):
    # only the first frame's persons remain found
    assert tool.main(['--ann', str(ann), '--det', str(det), '--json-out',
                      str(out), '--category-id', '5']) == 0
    assert 50 < json.loads(out.read_text())['MR-2_all'] < 100
    capsys.readouterr()
    # malformed detections: exit code 2 and a message naming the entry
    det.write_text(json.dumps([dict(image_id=1, score=0.5)]))
    assert tool.main(['--ann', str(ann), '--det', str(det)]) == 2
    assert 'entry 0 is not a COCO detection' in capsys.readouterr().err
    assert tool.main(['--ann', root, '--det', str(det)]) == 2
    assert '--image-set is required' in capsys.readouterr().err
