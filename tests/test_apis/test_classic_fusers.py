"""Classic fusion baselines (average, max, Laplacian pyramid), the shared
BaseFuser input/output handling, and the NestFuse fusion strategy."""
import cv2
import numpy as np
import pytest
import torch

from msfam_mm.apis import (FusionInferencer, build_fuser,
                           laplacian_pyramid_fusion, list_fusers)
from msfam_mm.apis.base_fuser import tensor_to_uint8
from msfam_mm.apis.classic_fusers import (laplacian_pyramid, pyr_down,
                                          reconstruct_laplacian)
from msfam_mm.apis.learned_fusers import (nestfuse_attention_fusion,
                                          nestfuse_channel_fusion,
                                          nestfuse_spatial_fusion)
from msfam_mm.utils import ImageReadError, read_image, split_luma, to_uint8

CLASSIC = ('average', 'max', 'choose_max', 'laplacian')
ODD_SIZES = [(1, 1), (2, 3), (3, 5), (37, 53), (291, 397)]


def _rand(shape, seed):
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def test_registry_lists_all_methods():
    names = list_fusers()
    for name in CLASSIC + ('msfam', 'nestfuse'):
        assert name in names


@pytest.mark.parametrize('method', CLASSIC)
@pytest.mark.parametrize('size', ODD_SIZES)
def test_classic_fusers_any_size_grey_and_colour(method, size):
    vis, ir = _rand(size + (3,), 0), _rand(size, 1)
    grey = build_fuser(method)(vis, ir)
    assert grey.shape == size and grey.dtype == np.uint8
    colour = build_fuser(method, color=True)(vis, ir)
    assert colour.shape == size + (3,) and colour.dtype == np.uint8


def test_average_and_max_are_the_pixel_rules():
    vis, ir = _rand((41, 29), 2), _rand((41, 29), 3)
    avg = build_fuser('average')(vis, ir).astype(int)
    expected = (vis.astype(int) + ir.astype(int)) / 2
    assert np.abs(avg - expected).max() <= 0.5
    assert np.array_equal(build_fuser('max')(vis, ir), np.maximum(vis, ir))


@pytest.mark.parametrize('size', [(1, 1), (5, 3), (37, 53), (64, 80)])
def test_laplacian_pyramid_reconstructs_exactly(size):
    x = torch.rand(2, 1, *size, dtype=torch.float64)
    pyr = laplacian_pyramid(x, levels=5)
    assert pyr[0].shape == x.shape
    torch.testing.assert_close(reconstruct_laplacian(pyr), x)
    assert pyr_down(torch.rand(1, 1, 37, 53)).shape[-2:] == (19, 27)


def test_laplacian_of_identical_inputs_is_identity():
    img = _rand((57, 73), 4)
    assert np.abs(build_fuser('laplacian')(img, img).astype(int)
                  - img).max() <= 1


def test_laplacian_keeps_more_detail_than_average_on_tno(tno42):
    vis = cv2.imread(str(tno42 / 'vi' / '01.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '01.png'), cv2.IMREAD_GRAYSCALE)

    def grad_energy(img):
        img = img.astype(np.float64)
        return np.mean(np.abs(np.diff(img, axis=0))) + \
            np.mean(np.abs(np.diff(img, axis=1)))
    lap = build_fuser('laplacian')(vis, ir)
    avg = build_fuser('average')(vis, ir)
    assert lap.shape == vis.shape
    # max-abs selection of band-pass coefficients keeps the stronger edges
    # of either source; averaging halves the edges present in only one
    assert grad_energy(lap) > grad_energy(avg) * 1.1


def test_functional_laplacian_batched_matches_single():
    v, i = torch.rand(3, 1, 33, 47), torch.rand(3, 1, 33, 47)
    batched = laplacian_pyramid_fusion(v, i)
    single = torch.cat([laplacian_pyramid_fusion(v[k:k + 1], i[k:k + 1])
                        for k in range(3)])
    torch.testing.assert_close(batched, single)


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


def test_nestfuse_strategy_functional():
    f = torch.rand(2, 8, 9, 7)
    torch.testing.assert_close(nestfuse_attention_fusion(f, f), f)
    g = torch.rand(2, 8, 9, 7)
    for mode in ('softmax', 'l1_ratio'):
        s = nestfuse_spatial_fusion(f, g, mode)
        # a convex combination per pixel lies between the two sources
        assert torch.all(s <= torch.maximum(f, g) + 1e-6)
        assert torch.all(s >= torch.minimum(f, g) - 1e-6)
    # a source with all-zero features gets zero channel weight
    torch.testing.assert_close(nestfuse_channel_fusion(f, torch.zeros_like(f)),
                               f, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match='mode'):
        nestfuse_spatial_fusion(f, g, 'bad')


def test_trailing_bytes_after_the_end_marker_are_accepted(tmp_path,
                                                          toy_kaist):
    """Data after a real JPEG EOI / PNG IEND (padding, an appended newline)
    is ignored as decoders ignore it; a file cut before its end marker is
    still refused, whatever follows the cut."""
    root = toy_kaist / 'images'
    jpg = (root / 'set00/V000/visible/I00001.jpg').read_bytes()
    png = (root / 'set00/V000/visible/I00007.png').read_bytes()
    ref_jpg = read_image(root / 'set00/V000/visible/I00001.jpg')
    ref_png = read_image(root / 'set00/V000/visible/I00007.png')
    for name, data, ref in (('nl.jpg', jpg + b'\n', ref_jpg),
                            ('zeros.jpg', jpg + b'\0' * 300, ref_jpg),
                            ('junk.jpg', jpg + b'trailing junk', ref_jpg),
                            ('nl.png', png + b'\n', ref_png),
                            ('junk.png', png + b'\0\0junk', ref_png)):
        (tmp_path / name).write_bytes(data)
        assert np.array_equal(read_image(tmp_path / name), ref), name
    for name, data in (('cut_nl.jpg', jpg[:5000] + b'\n'),
                       ('no_eoi.jpg', jpg[:-2]),
                       ('cut_zeros.jpg', jpg[:-2] + b'\0' * 16),
                       ('cut_nl.png', png[:len(png) // 2] + b'\n'),
                       ('no_crc.png', png[:-4])):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageReadError, match=f'{name}: truncated'):
            read_image(tmp_path / name)
