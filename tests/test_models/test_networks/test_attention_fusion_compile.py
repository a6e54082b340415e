"""The attention fusion block trains the same under torch.compile and bf16.

torch 2.13's Inductor returned NaN gradients for the channel-attention
convolutions when the spatial attention's channel maximum was taken in
bfloat16 (docs/training.md, "Compiled training"); the block takes it in
float32. These tests compare compiled and eager gradients on one block.
"""
import copy

import pytest
import torch

from msfam_mm.models.networks.attention_fusion_block import \
    AttentionFusionBlock


def _grads(block, fn, feat):
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = fn(feat[:, :8], feat[:, 8:])
    out.float().square().mean().backward()
    return {name: p.grad.clone() for name, p in block.named_parameters()}


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_compiled_bf16_gradients_match_eager(dtype):
    torch.manual_seed(0)
    eager = AttentionFusionBlock(8, spatial_kernel_size=3)
    compiled = copy.deepcopy(eager)
    feat = torch.rand(2, 16, 12, 10).to(dtype)
    expected = _grads(eager, eager, feat)
    got = _grads(compiled, torch.compile(compiled), feat)
    assert set(got) == set(expected)
    for name, grad in expected.items():
        assert torch.isfinite(got[name]).all(), name
        # bf16 rounding differs between the fused and the eager kernels:
        # a few units of bf16's 2^-8 relative resolution
        tol = 0.03 * grad.abs().max().item() + 1e-7
        assert (got[name] - grad).abs().max().item() <= tol, name


def test_channel_maximum_value_and_gradient_rule_unchanged():
    # two tied maxima share the gradient (amax's rule), in bf16 as in fp32
    block = AttentionFusionBlock(2, spatial_kernel_size=1).to(torch.bfloat16)
    x = torch.tensor([[[[1.0]], [[1.0]]]], dtype=torch.bfloat16,
                     requires_grad=True)
    with torch.no_grad():
        block.spatial_attention.conv.weight.copy_(
            torch.tensor([[[[0.0]], [[1.0]]]], dtype=torch.bfloat16))
    out = block.spatial_attention(x)
    assert out.item() == pytest.approx(0.7311, abs=4e-3)  # sigmoid(1)
    out.sum().backward()
    assert x.grad[0, 0].item() == pytest.approx(x.grad[0, 1].item())
    assert x.grad[0, 0].item() > 0
