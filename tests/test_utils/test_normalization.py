"""msfam_mm.utils.normalization: the one float -> uint8 conversion of the
package (inference and metrics) and its answer for constant images."""
import pytest
import torch

from msfam_mm.utils import minmax_normalize, to_uint8


def test_minmax_stretches_each_image_on_its_own():
    # image 0 spans -1..3, image 1 spans 10..12: each to 0..255
    x = torch.tensor([[[[-1.0, 0.0], [1.0, 3.0]]],
                      [[[10.0, 11.0], [12.0, 12.0]]]])
    out = to_uint8(x)
    assert out.dtype == torch.uint8
    # (v + 1) / 4 * 255 = 0, 63.75, 127.5, 255 -> 0, 64, 128 (half to even),
    # 255; (v - 10) / 2 * 255 = 0, 127.5, 255, 255
    assert out[0].flatten().tolist() == [0, 64, 128, 255]
    assert out[1].flatten().tolist() == [0, 128, 255, 255]


def test_halves_round_to_even():
    # 0.5 / 255 steps land exactly on .5: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2
    x = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64) / 255
    assert to_uint8(x.view(1, 1, 1, 3), 'clip').flatten().tolist() == \
        [0, 2, 2]


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64,
                                   torch.bfloat16])
def test_constant_image_is_black_under_minmax(dtype):
    for value in (0.0, 0.7, 1.0, 5.0):
        x = torch.full((2, 1, 3, 4), value, dtype=dtype)
        assert to_uint8(x).max().item() == 0
        # the same answer as training's min-max image
        assert minmax_normalize(x.float()).max().item() == 0


def test_clip_keeps_the_level_of_unit_range_images():
    x = torch.tensor([[[[-0.5, 0.0, 0.25, 1.0, 1.5]]]])
    assert to_uint8(x, 'clip').flatten().tolist() == [0, 0, 64, 255, 255]
    assert to_uint8(torch.full((1, 1, 2, 2), 0.5), 'clip').unique().tolist() \
        == [128]


def test_input_checks_name_the_problem():
    with pytest.raises(ValueError, match=r"normalize must be one of "
                                         r"\('minmax', 'clip'\), got 'max'"):
        to_uint8(torch.zeros(1, 1, 2, 2), 'max')
    with pytest.raises(ValueError, match=r'\(B, C, H, W\), got \(2, 2\)'):
        to_uint8(torch.zeros(2, 2))
    with pytest.raises(TypeError, match='float tensor, got torch.uint8'):
        to_uint8(torch.zeros(1, 1, 2, 2, dtype=torch.uint8))
