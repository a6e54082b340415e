"""The weights shipped in checkpoints/ (issue 6): they load with
``weights_only=True`` into the inference API, match the sha256 of
checkpoints/README.md, stay small, and fuse a real TNO pair into something
better than a trivially bad fusion."""
import hashlib
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch


REPO = Path(__file__).resolve().parents[2]
CKPT_DIR = REPO / 'checkpoints'
NET = CKPT_DIR / 'msfam_cpu_stage2_fp16.pth'
CLS = CKPT_DIR / 'msfam_cpu_classifier_fp16.pth'
CONFIG = str(REPO / 'configs' / 'msfam_stage2.py')
MAX_TOTAL_BYTES = 20 * 10**6  # the budget: <= 20 MB in total


def _readme_sha256():
    text = (CKPT_DIR / 'README.md').read_text(encoding='utf-8')
    row = r'\|\s*`([\w.-]+\.pth)`\s*\|[^|\n]*\|\s*`([0-9a-f]{64})`'
    return dict(re.findall(row, text))


def test_files_present_and_small():
    for p in (NET, CLS):
        assert p.is_file(), f'{p} is not shipped'
    assert NET.stat().st_size + CLS.stat().st_size <= MAX_TOTAL_BYTES


def test_sha256_matches_readme():
    listed = _readme_sha256()
    for p in (NET, CLS):
        assert p.name in listed, f'checkpoints/README.md lists no {p.name}'
        assert hashlib.sha256(p.read_bytes()).hexdigest() == listed[p.name]


def test_state_dicts_are_fp16_and_complete():
    import msfam_mm  # noqa: F401
    from msfam_mm.models.networks import (MSFAMNet,
                                          SemanticConstraintClassifier)
    for path, module in ((NET, MSFAMNet(with_fusion=True)),
                         (CLS, SemanticConstraintClassifier())):
        sd = torch.load(path, weights_only=True, map_location='cpu')
        own = module.state_dict()
        assert list(sd) == list(own)
        for k, v in sd.items():
            assert v.shape == own[k].shape, k
            if v.is_floating_point():
                assert v.dtype == torch.float16, k
                assert torch.isfinite(v).all(), k
        module.load_state_dict({k: v.float() for k, v in sd.items()},
                               strict=True)


@pytest.fixture(scope='module')
def tno_crop(tno42):
    """A 96x128 window of TNO pair 05 (person, fence, bushes)."""
    vis = cv2.imread(str(tno42 / 'vi' / '05.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '05.png'), cv2.IMREAD_GRAYSCALE)
    return vis[90:186, 76:204].copy(), ir[90:186, 76:204].copy()


def test_shipped_model_fuses_real_pair_sensibly(tno_crop):
    from msfam_mm.apis import FusionInferencer
    from msfam_mm.evaluation.fusion_metrics import evaluate_fusion
    vis, ir = tno_crop
    fused = FusionInferencer(CONFIG, str(NET))(vis, ir)
    assert fused.shape == vis.shape and fused.dtype == np.uint8
    assert fused.std() > 10, 'fused image is nearly flat'
    keys = ('SSIM', 'VIF', 'CC', 'Qabf')
    ours = evaluate_fusion(fused, vis, ir, metrics=keys)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, vis.shape).astype(np.uint8)
    flat = np.full_like(vis, 128)
    # trivially bad fusions: inverted sources, a flat image, noise.
    # Qabf is left out for the inverted sources: its edge orientation
    # atan(sy/sx) ignores the gradient's sign, so an inverted source keeps
    # its Qabf (docs/metrics.md).
    for name, bad in (('inverted visible', 255 - vis),
                      ('inverted infrared', 255 - ir), ('flat', flat),
                      ('noise', noise)):
        worse = evaluate_fusion(bad, vis, ir, metrics=keys)
        for k in keys:
            if k == 'Qabf' and name.startswith('inverted'):
                continue
            assert ours[k] > worse[k], (name, k, ours[k], worse[k])


def test_shipped_classifier_separates_sources(tno_crop):
    """Visible and infrared crops are told apart (Section 3.5 targets
    (1, 0) and (0, 1)): p_vis is higher for the visible image and p_ir for
    the infrared one."""
    import msfam_mm  # noqa: F401
    from msfam_mm.models.networks import SemanticConstraintClassifier
    cls = SemanticConstraintClassifier().eval()
    sd = torch.load(CLS, weights_only=True, map_location='cpu')
    cls.load_state_dict({k: v.float() for k, v in sd.items()})
    vis, ir = tno_crop
    x = torch.from_numpy(np.stack([vis, ir])).float().div(255)[:, None]
    with torch.no_grad():
        p = cls(x)
    assert p[0, 0] > p[1, 0] and p[1, 1] > p[0, 1], p


def test_shipped_classifier_on_held_out_sources(tno42, roadscene221):
    """Held-out split (26 pairs, never seen in training), full-size images:
    the classifier gives visible images (1, 0) and infrared ones (0, 1)
    well above chance, and ranks the two bands correctly on almost all.
    Measured: exact match 18/26 visible, 21/26 infrared; p_vis > p_ir on
    24/26 visible and p_ir > p_vis on 24/26 infrared images. The earlier
    shipped classifier answered (1, 1) everywhere: 0/26 and 0/26."""
    import msfam_mm  # noqa: F401
    from msfam_mm.models.networks import SemanticConstraintClassifier
    assert tno42.parent == roadscene221.parent
    root = tno42.parent
    cls = SemanticConstraintClassifier().eval()
    sd = torch.load(CLS, weights_only=True, map_location='cpu')
    cls.load_state_dict({k: v.float() for k, v in sd.items()})
    split = REPO / 'data' / 'splits' / 'tno_roadscene_test.txt'
    pairs = [line.split() for line in split.read_text().splitlines()
             if line.strip() and not line.startswith('#')]
    assert len(pairs) == 26
    exact = {0: 0, 1: 0}
    ranked = {0: 0, 1: 0}
    for pair in pairs:
        for band, path in enumerate(pair):  # 0 visible, 1 infrared
            img = cv2.imread(str(root / path), cv2.IMREAD_GRAYSCALE)
            assert img is not None, path
            with torch.no_grad():
                p = cls(torch.from_numpy(img).float().div(255)[None, None])[0]
            target = [1, 0] if band == 0 else [0, 1]
            exact[band] += (p > 0.5).int().tolist() == target
            ranked[band] += bool(p[band] > p[1 - band])
    assert exact[0] >= 16 and exact[1] >= 16, exact
    assert ranked[0] >= 22 and ranked[1] >= 22, ranked


def _build(config):
    import msfam_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from msfam_mm.registry import MODELS
    init_default_scope('msfam_mm')
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    for key in ('stage1_checkpoint', 'classifier_checkpoint'):
        cfg.model.pop(key, None)
    return MODELS.build(cfg.model)


def test_load_model_weights_takes_shipped_files_strictly(tmp_path):
    """tools/test.py loads the shipped bare fp16 files into the configs'
    models (mmengine's load_from would only warn and test an untrained
    network); a file of another model or an incomplete one is an error
    naming it."""
    from msfam_mm.utils import load_model_weights
    fusion = _build('msfam_stage2.py')
    assert load_model_weights(fusion, NET) == ['net']
    shipped = torch.load(NET, weights_only=True)
    for k, v in fusion.net.state_dict().items():
        assert torch.equal(v, shipped[k].to(v.dtype)), k
    clf_model = _build('msfam_constraint.py')
    assert load_model_weights(clf_model, CLS) == ['classifier']
    # the classifier alone is not what the fusion test loop needs
    with pytest.raises(KeyError, match=r"not its \['net'\]"):
        load_model_weights(fusion, CLS)
    with pytest.raises(KeyError, match='matches neither'):
        load_model_weights(clf_model, NET)
    # a stage-1 checkpoint has no fusion blocks
    stage1 = tmp_path / 'stage1_like.pth'
    torch.save(dict(state_dict={f'net.{k}': v for k, v in shipped.items()
                                if not k.startswith('fusion_blocks.')}),
               stage1)
    with pytest.raises(KeyError, match='stage1_like.pth.*missing'):
        load_model_weights(fusion, stage1)


def test_stage2_takes_shipped_classifier_file():
    """Users who train stage 2 themselves can point classifier_checkpoint
    at the shipped bare file; another bare file is refused by name."""
    model = _build('msfam_stage2.py')
    model.classifier_checkpoint = str(CLS)
    model.init_weights()
    shipped = torch.load(CLS, weights_only=True)
    for k, v in model.classifier.state_dict().items():
        assert torch.equal(v, shipped[k].to(v.dtype)), k
    assert not any(p.requires_grad for p in model.classifier.parameters())
    model = _build('msfam_stage2.py')
    model.classifier_checkpoint = str(NET)
    with pytest.raises(KeyError, match='msfam_cpu_stage2_fp16.pth.*prefix'):
        model.init_weights()
