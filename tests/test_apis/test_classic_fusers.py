"""The classic fusion baselines (msfam_mm.apis.classic_fusers: average, max,
choose-max, Laplacian pyramid): the registry, any size in grey and colour,
the pixel rules and the pyramid's exact reconstruction."""
import cv2
import numpy as np
import pytest
import torch

from msfam_mm.apis import build_fuser, laplacian_pyramid_fusion, list_fusers
from msfam_mm.apis.classic_fusers import (laplacian_pyramid, pyr_down,
                                          reconstruct_laplacian)


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
