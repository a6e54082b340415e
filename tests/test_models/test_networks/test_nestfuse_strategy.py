"""The NestFuse fusion strategy (msfam_mm.models.networks.nestfuse_strategy):
attention, spatial and channel fusion of feature maps."""
import pytest
import torch

from msfam_mm.models.networks.nestfuse_strategy import (
    nestfuse_attention_fusion, nestfuse_channel_fusion,
    nestfuse_spatial_fusion)


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
