"""AttentionFusionBlock: MSFAM's channel + spatial attention fusion (paper
Eqs. 3-7) written out with the block's own weights."""
import torch
import torch.nn.functional as F

from msfam_mm.models.networks import AttentionFusionBlock


# ---------------------------------------------------------- fusion block ---
def test_fusion_block_shares_conv_between_attention_and_projection():
    c, k = 16, 5
    block = AttentionFusionBlock(c, spatial_kernel_size=k)
    # exactly two 1x1 2C->C convs (+bias) and one k x k 2->1 conv
    expected = 2 * (2 * c * c + c) + 2 * k * k
    assert sum(p.numel() for p in block.parameters()) == expected

    # each conv is called on the pooled vector AND on the full feature
    calls = {'conv_max': [], 'conv_avg': []}
    hooks = [getattr(block, n).register_forward_hook(
        lambda m, i, o, n=n: calls[n].append(tuple(i[0].shape[-2:])))
             for n in calls]
    f_vis, f_ir = torch.rand(2, c, 12, 10), torch.rand(2, c, 12, 10)
    fused = block(f_vis, f_ir)
    for h in hooks:
        h.remove()
    assert sorted(calls['conv_max']) == [(1, 1), (12, 10)]
    assert sorted(calls['conv_avg']) == [(1, 1), (12, 10)]

    # Eqs. 3-7 written out with the same weights
    feat = torch.cat([f_vis, f_ir], 1)
    wm, bm = block.conv_max.weight, block.conv_max.bias
    wa, ba = block.conv_avg.weight, block.conv_avg.bias
    m_max = torch.sigmoid(F.conv2d(feat.amax((2, 3), keepdim=True), wm, bm))
    m_avg = torch.sigmoid(F.conv2d(feat.mean((2, 3), keepdim=True), wa, ba))
    f_ca = m_max * F.conv2d(feat, wm, bm) + m_avg * F.conv2d(feat, wa, ba)
    sa_in = torch.cat([f_ca.mean(1, keepdim=True),
                       f_ca.amax(1, keepdim=True)], 1)
    m_sa = torch.sigmoid(F.conv2d(sa_in, block.spatial_attention.conv.weight,
                                  padding=k // 2))
    torch.testing.assert_close(fused, m_sa * f_ca)
