"""Learned fusers (msfam, nestfuse) built from config + checkpoint, the
FusionInferencer and the precision options.

Most tests build the network from a config with random initialisation and
save a checkpoint into tmp_path, so they do not depend on the shipped
weights; tiny widths keep them fast. One test runs the paper config itself
on a small real crop, one checks that ``msfam`` defaults to the shipped
weights."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from msfam_mm.apis import FusionInferencer, build_fuser
from msfam_mm.apis.base_fuser import tensor_to_uint8
from msfam_mm.apis.model_loading import (DEFAULT_MSFAM_CHECKPOINT,
                                         DEFAULT_MSFAM_CONFIG, build_msfam_net)


REPO = Path(__file__).resolve().parents[2]


TINY_NET = "dict(type='MSFAMNet', stem_channels=4, widths=(8, 8, 8, 8))"


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """Tiny stage-1/2 configs and random-init checkpoints of both kinds."""
    d = tmp_path_factory.mktemp('tiny_msfam')
    (d / 'stage2.py').write_text(
        f"model = dict(type='MSFAMFusion', net={TINY_NET},\n"
        "             classifier=dict(type='SemanticConstraintClassifier'))\n")
    (d / 'stage1.py').write_text(
        f"model = dict(type='MSFAMReconstructor', net={TINY_NET[:-1]}, "
        "with_fusion=False))\n")
    torch.manual_seed(0)
    net = build_msfam_net(str(d / 'stage2.py')).eval()
    state = {f'net.{k}': v for k, v in net.state_dict().items()}
    state['classifier.fc.weight'] = torch.zeros(2, 3)  # ignored by inference
    torch.save(dict(meta=dict(epoch=20), state_dict=state), d / 'mm.pth')
    torch.save({k: v.half() for k, v in net.state_dict().items()},
               d / 'bare_fp16.pth')
    s1 = {f'net.{k}': v for k, v in net.state_dict().items()
          if not k.startswith('fusion_blocks')}
    torch.save(dict(state_dict=s1), d / 'stage1.pth')
    return dict(dir=d, net=net, stage2=str(d / 'stage2.py'),
                stage1=str(d / 'stage1.py'), mm=str(d / 'mm.pth'),
                fp16=str(d / 'bare_fp16.pth'), s1=str(d / 'stage1.pth'))


def _pair(kaist_root, frame='set00/V000/I00001', ext='jpg', crop=None):
    """A visible/lwir pair of a KAIST-layout frame (lwir 3-channel, as
    KAIST stores it), cropped to ``crop`` = (h, w) around the centre."""
    s, v, i = frame.split('/')
    root = kaist_root / 'images' / s / v
    vis = cv2.imread(str(root / 'visible' / f'{i}.{ext}'), cv2.IMREAD_COLOR)
    ir = cv2.imread(str(root / 'lwir' / f'{i}.{ext}'), cv2.IMREAD_UNCHANGED)
    if crop:
        y, x = (vis.shape[0] - crop[0]) // 2, (vis.shape[1] - crop[1]) // 2
        vis = vis[y:y + crop[0], x:x + crop[1]]
        ir = ir[y:y + crop[0], x:x + crop[1]]
    return np.ascontiguousarray(vis), np.ascontiguousarray(ir)


def test_msfam_fuser_matches_network_forward(tiny, toy_kaist):
    vis, ir = _pair(toy_kaist, crop=(93, 121))  # odd size: pads inside
    fused = FusionInferencer(tiny['stage2'], tiny['mm'], device='cpu')(
        vis, ir)
    assert fused.shape == (93, 121) and fused.dtype == np.uint8
    v = torch.from_numpy(cv2.cvtColor(vis, cv2.COLOR_BGR2GRAY))[None, None]
    i = torch.from_numpy(cv2.cvtColor(ir, cv2.COLOR_BGR2GRAY))[None, None]
    with torch.no_grad():
        ref = tiny['net'](v.float() / 255, i.float() / 255)
    expected = tensor_to_uint8(ref, 'minmax')[0, 0].numpy()
    assert np.abs(fused.astype(int) - expected).max() <= 1
    # Section 4.1: min-max normalised to the full 0..255 range
    assert fused.min() == 0 and fused.max() == 255


def test_bare_fp16_state_dict_loads(tiny, toy_kaist):
    vis, ir = _pair(toy_kaist, crop=(64, 80))
    a = FusionInferencer(tiny['stage2'], tiny['mm'])(vis, ir).astype(int)
    b = FusionInferencer(tiny['stage2'], tiny['fp16'])(vis, ir).astype(int)
    # weights rounded to fp16 change the output only slightly
    assert np.mean(np.abs(a - b)) < 2.0


def test_checkpoint_mismatch_is_reported(tiny, tmp_path):
    with pytest.raises(KeyError, match='fusion_blocks'):
        build_fuser('msfam', config=tiny['stage2'], checkpoint=tiny['s1'])
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        build_fuser('msfam', config=tiny['stage2'],
                    checkpoint=str(tmp_path / 'missing.pth'))
    # a checkpoint that would need code execution is refused
    evil = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, obj=Path('x')), evil)
    with pytest.raises(RuntimeError, match='holds more than tensors'):
        build_fuser('msfam', config=tiny['stage2'], checkpoint=str(evil))


def test_nestfuse_strategy_on_stage1_checkpoint(tiny, toy_kaist):
    vis, ir = _pair(toy_kaist, crop=(77, 59))
    fuser = build_fuser('nestfuse', config=tiny['stage1'],
                        checkpoint=tiny['s1'])
    out = fuser(vis, ir)
    assert out.shape == (77, 59) and out.dtype == np.uint8
    # fusing an image with itself: the strategy's weights sum to one, so
    # the features pass unchanged and the result is the reconstruction
    grey = cv2.cvtColor(vis, cv2.COLOR_BGR2GRAY)
    same = fuser(grey, grey)
    with torch.no_grad():
        rec = tiny['net'].reconstruct(
            torch.from_numpy(grey)[None, None].float() / 255)
    assert np.abs(same.astype(int) - tensor_to_uint8(
        rec, 'minmax')[0, 0].numpy()).max() <= 1
    # the paper's stage-2 weights can feed it too (fusion blocks ignored)
    build_fuser('nestfuse', config=tiny['stage2'], checkpoint=tiny['mm'])


def test_colour_mode_and_batches(tiny, toy_kaist):
    inf = FusionInferencer(tiny['stage2'], tiny['mm'], color=True)
    vis, ir = _pair(toy_kaist, crop=(48, 64))
    out = inf(vis, ir)
    assert out.shape == (48, 64, 3)
    vis2, ir2 = _pair(toy_kaist, 'set00/V000/I00007', 'png', (40, 56))
    outs = inf([vis, vis2], [ir, ir2])
    assert [o.shape for o in outs] == [(48, 64, 3), (40, 56, 3)]
    assert np.array_equal(outs[0], out)


def test_bf16_autocast_close_to_fp32(tiny, toy_kaist):
    vis, ir = _pair(toy_kaist, crop=(64, 80))
    a = FusionInferencer(tiny['stage2'], tiny['mm'])(vis, ir).astype(int)
    b = FusionInferencer(tiny['stage2'], tiny['mm'], precision='bf16',
                         channels_last=True)(vis, ir).astype(int)
    assert a.shape == b.shape
    assert np.mean(np.abs(a - b)) < 4.0


def test_paper_config_random_init(tmp_path, tno42):
    """configs/msfam_stage2.py itself, on a small real TNO crop."""
    torch.manual_seed(0)
    cfg = str(REPO / 'configs' / 'msfam_stage2.py')
    net = build_msfam_net(cfg)
    assert len(net.fusion_blocks) == 4
    ckpt = tmp_path / 'stage2_random.pth'
    torch.save(dict(state_dict={f'net.{k}': v for k, v in
                                net.state_dict().items()}), ckpt)
    vis = cv2.imread(str(tno42 / 'vi' / '01.png'), cv2.IMREAD_UNCHANGED)
    ir = cv2.imread(str(tno42 / 'ir' / '01.png'), cv2.IMREAD_UNCHANGED)
    vis, ir = vis[:45, :61], ir[:45, :61]
    out = FusionInferencer(cfg, str(ckpt))(vis, ir)
    assert out.shape == (45, 61)


def test_msfam_defaults_to_shipped_weights(tno42):
    """Without config/checkpoint, ``msfam`` is the shipped model (issue 6)."""
    default = build_fuser('msfam')
    assert default.checkpoint == DEFAULT_MSFAM_CHECKPOINT
    explicit = FusionInferencer(DEFAULT_MSFAM_CONFIG, DEFAULT_MSFAM_CHECKPOINT)
    vis = cv2.imread(str(tno42 / 'vi' / '05.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '05.png'), cv2.IMREAD_GRAYSCALE)
    vis, ir = vis[:96, :128], ir[:96, :128]
    fused = default(vis, ir)
    assert fused.shape == vis.shape and fused.dtype == np.uint8
    np.testing.assert_array_equal(fused, explicit(vis, ir))
    # other learned methods have no default weights
    with pytest.raises(ValueError, match='needs both a config'):
        build_fuser('nestfuse')


def test_fusers_build_whatever_scope_the_process_has_set():
    """A process where MMDetection set its default scope (a detection run,
    a test session) still builds msfam_mm's networks and fusers."""
    pytest.importorskip('mmdet.registry',
                        reason='needs MMDetection (the detection layer)')
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        fuser = build_fuser('msfam', backend='torch')
        assert type(fuser.net).__name__ == 'MSFAMNet'
        assert DefaultScope.get_current_instance().scope_name == 'mmdet'
        assert build_fuser('laplacian').name == 'laplacian'
        from msfam_mm.apis.model_loading import build_msfam_net
        assert build_msfam_net('configs/msfam_stage1.py').with_fusion is \
            False
