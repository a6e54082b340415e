"""What every fuser shares (msfam_mm.apis.base_fuser): colour mode keeping the
visible chroma, 3-channel thermal read as grey, batched lists of mixed
sizes, precise input errors, bf16 autocast on CPU and the uint8 output
normalisation."""
import cv2
import numpy as np
import pytest
import torch

from msfam_mm.apis import FusionInferencer, build_fuser
from msfam_mm.apis.base_fuser import tensor_to_uint8
from msfam_mm.utils import ImageReadError, split_luma, to_uint8


def _rand(shape, seed):
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def test_colour_mode_keeps_visible_chroma(roadscene221):
    name = sorted(p.name for p in (roadscene221 / 'vi').iterdir())[0]
    vis = cv2.imread(str(roadscene221 / 'vi' / name), cv2.IMREAD_COLOR)
    ir = cv2.imread(str(roadscene221 / 'ir' / name), cv2.IMREAD_UNCHANGED)
    out = build_fuser('average', color=True)(vis, ir)
    assert out.shape == vis.shape
    y_out, crcb_out = split_luma(out)
    y_vis, crcb_vis = split_luma(vis)
    grey_out = build_fuser('average')(y_vis, ir if ir.ndim == 2 else
                                      cv2.cvtColor(ir, cv2.COLOR_BGR2GRAY))
    # YCrCb -> BGR -> YCrCb round trip is lossy by a few levels (8-bit)
    sat = (out.min(axis=2) > 5) & (out.max(axis=2) < 250)
    assert np.mean(np.abs(y_out.astype(int) - grey_out)[sat]) < 1.5
    assert np.mean(np.abs(crcb_out.astype(int) - crcb_vis)[sat]) < 1.5


def test_three_channel_thermal_becomes_grey(toy_kaist):
    root = toy_kaist / 'images' / 'set00' / 'V000'
    lwir = cv2.imread(str(root / 'lwir' / 'I00001.jpg'), cv2.IMREAD_UNCHANGED)
    assert lwir.ndim == 3  # KAIST stores lwir as 3-channel JPEG
    vis = str(root / 'visible' / 'I00001.jpg')
    fuser = build_fuser('max')
    from_path = fuser(vis, str(root / 'lwir' / 'I00001.jpg'))
    from_grey = fuser(vis, cv2.cvtColor(lwir, cv2.COLOR_BGR2GRAY))
    assert from_path.shape == (512, 640)
    assert np.array_equal(from_path, from_grey)


def test_batched_lists_with_mixed_sizes():
    fuser = build_fuser('laplacian')
    vis = [_rand((20, 30), 5), _rand((31, 17), 6), _rand((20, 30), 7)]
    ir = [_rand((20, 30), 8), _rand((31, 17), 9), _rand((20, 30), 10)]
    out = fuser(vis, ir)
    assert [o.shape for o in out] == [(20, 30), (31, 17), (20, 30)]
    for k in range(3):
        assert np.array_equal(out[k], fuser(vis[k], ir[k]))


def test_input_errors_are_precise(tmp_path, toy_kaist):
    fuser = build_fuser('average')
    with pytest.raises(ValueError, match='size mismatch'):
        fuser(_rand((10, 12), 0), _rand((10, 13), 1))
    with pytest.raises(TypeError):
        fuser([_rand((4, 4), 0)], _rand((4, 4), 1))
    src = toy_kaist / 'images/set00/V000/visible/I00001.jpg'
    bad = tmp_path / 'trunc.jpg'
    bad.write_bytes(src.read_bytes()[:5000])
    with pytest.raises(ImageReadError, match='trunc.jpg.*truncated'):
        fuser(str(bad), str(src))
    with pytest.raises(ImageReadError, match='nope.png'):
        fuser(str(tmp_path / 'nope.png'), str(src))
    with pytest.raises(ImageReadError, match='uint8'):
        fuser(np.zeros((4, 4), np.float32), np.zeros((4, 4), np.uint8))
    with pytest.raises(KeyError, match='unknown fusion method'):
        build_fuser('does_not_exist')
    with pytest.raises(ValueError, match='needs no config'):
        build_fuser('average', checkpoint='x.pth')
    with pytest.raises(ValueError, match="'fp16' needs a CUDA"):
        build_fuser('average', precision='fp16')
    with pytest.raises(ValueError, match='needs both a config'):
        FusionInferencer(None, None, method='nestfuse')


def test_bf16_autocast_on_cpu_runs_classic():
    vis, ir = _rand((33, 45), 11), _rand((33, 45), 12)
    a = build_fuser('laplacian', precision='bf16')(vis, ir).astype(int)
    b = build_fuser('laplacian')(vis, ir).astype(int)
    # the pyramid itself runs in fp32 under autocast
    assert np.abs(a - b).max() <= 1


def test_output_normalisation():
    x = torch.tensor([[[[-1.0, 0.0], [1.0, 3.0]]]])
    assert tensor_to_uint8(x, 'minmax').flatten().tolist() == \
        [0, 64, 128, 255]
    assert tensor_to_uint8(x, 'clip').flatten().tolist() == [0, 0, 255, 255]
    assert tensor_to_uint8(torch.ones(1, 1, 2, 2), 'minmax').sum() == 0
    assert torch.equal(to_uint8(x, 'minmax'), tensor_to_uint8(x, 'minmax'))
