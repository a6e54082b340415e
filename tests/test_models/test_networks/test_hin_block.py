"""HINBlock: half-instance normalisation of the encoder's blocks."""
import torch

from msfam_mm.models.networks import HINBlock


def test_hin_block_normalises_half_the_channels():
    torch.manual_seed(4)
    block = HINBlock(3, 8)
    x = torch.rand(2, 3, 16, 16) * 5 + 3
    conv1 = block.conv1(x)
    half = torch.cat([block.norm(conv1[:, :4]), conv1[:, 4:]], 1)
    ref = block.act2(block.conv2(block.act1(half))) + block.identity(x)
    torch.testing.assert_close(block(x), ref)
    # the normalised half has (affine-initialised) zero mean, unit variance
    n = block.norm(conv1[:, :4])
    torch.testing.assert_close(n.mean((2, 3)), torch.zeros(2, 4),
                               atol=1e-5, rtol=0)
    assert block.norm.num_features == 4 and block.norm.affine
    assert block.act1.negative_slope == 0.2
