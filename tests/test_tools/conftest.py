"""Fixtures shared by the tool tests: a stage-2 checkpoint of a randomly
initialised model, its fp16 export (tools/export_weights.py) and a data
root of real TNO / RoadScene / published-fusion crops."""
import hashlib
from pathlib import Path

import cv2
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
STAGE2_CONFIG = str(REPO / 'configs' / 'msfam_stage2.py')
PUBLISHED = ('DenseFuse', 'FusionGAN', 'IFCNN', 'PIAFusion', 'PMGI',
             'RFN-Nest', 'SDNet', 'SeAFusion', 'U2Fusion')


@pytest.fixture(scope='module')
def export_tool(load_tool):
    return load_tool('export_weights')


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope='module')
def stage2_checkpoint(tmp_path_factory):
    """An mmengine-style stage-2 checkpoint of a randomly initialised
    MSFAMFusion (what tools/train.py writes: meta + state_dict)."""
    import msfam_mm  # noqa: F401
    from msfam_mm.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(type='MSFAMFusion', data_preprocessor=None))
    path = tmp_path_factory.mktemp('ckpt') / 'iter_10.pth'
    torch.save(dict(meta=dict(iter=10), state_dict=model.state_dict()), path)
    return path


@pytest.fixture(scope='module')
def exported(export_tool, stage2_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp('export')
    before = sha256_of(stage2_checkpoint)
    res = export_tool.export(str(stage2_checkpoint), None, STAGE2_CONFIG,
                             str(out), 'unit')
    assert sha256_of(stage2_checkpoint) == before, 'export modified its input'
    return res


def _crop_write(src, dst, box):
    img = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    y0, y1, x0, x1 = box
    dst.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(dst), img[y0:y1, x0:x1])


@pytest.fixture(scope='module')
def tiny_data_root(tno42, tno42_fusions, roadscene221, tmp_path_factory):
    """Real TNO / RoadScene / published-fusion crops in the data layout."""
    root = tmp_path_factory.mktemp('data')
    box = (64, 128, 96, 176)
    for stem in ('05', '11'):
        for band in ('vi', 'ir'):
            _crop_write(tno42 / band / f'{stem}.png',
                        root / 'tno42' / band / f'{stem}.png', box)
        for m in PUBLISHED:
            _crop_write(tno42_fusions / m / f'{stem}.png',
                        root / 'tno42_published_fusions' / m / f'{stem}.png',
                        box)
    rs = sorted(p.name for p in (roadscene221 / 'vi').iterdir())[0]
    for band in ('vi', 'ir'):
        _crop_write(roadscene221 / band / rs,
                    root / 'roadscene221' / band / rs, (0, 64, 0, 72))
    split = root / 'split.txt'
    split.write_text(f'# test split\ntno42/vi/11.png tno42/ir/11.png\n'
                     f'roadscene221/vi/{rs} roadscene221/ir/{rs}\n')
    return root
