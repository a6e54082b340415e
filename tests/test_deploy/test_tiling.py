"""Tiled fusion of large images (msfam_mm.deploy.tiling)."""
import numpy as np
import pytest
import torch

from msfam_mm.apis import build_fuser
from msfam_mm.deploy import tiling


def test_tile_starts_cover_the_side_with_the_overlap():
    assert tiling.tile_starts(100, 64, 8) == [0, 36]
    assert tiling.tile_starts(64, 64, 8) == [0]
    starts = tiling.tile_starts(1000, 256, 32)
    assert starts[0] == 0 and starts[-1] + 256 == 1000
    gaps = np.diff(starts)
    assert gaps.max() <= 256 - 2 * 32
    with pytest.raises(ValueError, match='exceed twice the overlap'):
        tiling.tile_starts(100, 16, 8)


@pytest.mark.parametrize('hw', [(100, 130), (37, 301), (64, 64)])
def test_pointwise_fusion_is_unchanged_by_tiling(hw):
    """Blend weights sum to one everywhere: a per-pixel function tiled
    equals the function on the whole image."""
    v, i = torch.rand(2, 2, 1, *hw)
    direct = torch.maximum(v, i) - 0.3 * i
    tiled = tiling.fuse_tiled(lambda a, b: torch.maximum(a, b) - 0.3 * b,
                              v, i, tile=40, overlap=8)
    torch.testing.assert_close(tiled, direct, atol=1e-6, rtol=0)


def test_each_tile_gets_its_own_window():
    seen = []

    def record(a, b):
        seen.append(tuple(a.shape[-2:]))
        return a
    tiling.fuse_tiled(record, torch.rand(1, 1, 50, 90),
                      torch.rand(1, 1, 50, 90), tile=48, overlap=4)
    assert tiling.tile_grid(50, 90, 48, 4) == (2, 3)
    assert seen == [(48, 48)] * 6


def test_auto_tile_size_follows_budget_and_backend():
    small = tiling.auto_tile_size('openvino', 'bf16', budget=1e9)
    large = tiling.auto_tile_size('openvino', 'bf16', budget=4e9)
    assert small % 8 == 0 and large % 8 == 0
    assert 1.9 < large / small < 2.1          # side ~ sqrt(budget)
    assert tiling.auto_tile_size('torch', 'fp32', budget=4e9) < large
    assert tiling.auto_tile_size('torch', 'fp32', budget=1) == \
        tiling.MIN_TILE


def test_fuser_tiles_large_images_only_and_stays_close(tno42):
    """TNO 01 (768x576) fused in 2x2 tiles of 448 px against the untiled
    result: per-tile instance-norm statistics move few pixels far."""
    import cv2
    v = cv2.imread(str(tno42 / 'vi' / '01.png'), 0)
    i = cv2.imread(str(tno42 / 'ir' / '01.png'), 0)
    whole = build_fuser('msfam', backend='onnxruntime', tile_size=0)
    tiled = build_fuser('msfam', backend='onnxruntime', tile_size=448)
    assert tiled.tile_for(1) == 448 and whole.tile_for(4) == 0
    d = np.abs(whole(v, i).astype(int) - tiled(v, i).astype(int))
    assert d.mean() < 3.0, d.mean()
    assert np.percentile(d, 99) < 12, np.percentile(d, 99)
    with pytest.raises(ValueError, match='more than twice tile_overlap'):
        build_fuser('msfam', backend='onnxruntime', tile_size=100)


def test_auto_tile_shrinks_with_the_batch():
    fuser = build_fuser('msfam', backend='onnxruntime')
    assert fuser.tile_for(4) < fuser.tile_for(1)
