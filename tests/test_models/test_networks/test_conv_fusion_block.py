"""ConvFusionBlock (msfam_mm/models/networks/conv_fusion_block.py) and
``MSFAMNet(fusion_block='conv')``: the plain 5x5-convolution fusion of the
paper's Table 2 ("w/o attention"), in place of the attention blocks."""
import pytest
import torch

from msfam_mm.models.networks import (AttentionFusionBlock, ConvFusionBlock,
                                      MSFAMNet, msfam_autoencoder)
from msfam_mm.registry import MODELS


def _identity_taps(conv: torch.nn.Conv2d, in_offset: int, scale: float
                   ) -> None:
    """Make ``conv`` output ``scale`` x input channel ``in_offset + c`` in
    channel ``c`` (centre tap only, no bias)."""
    k = conv.kernel_size[0] // 2
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        for c in range(conv.out_channels):
            conv.weight[c, in_offset + c, k, k] = scale


# ---------------------------------------------------------------- block ---
def test_block_structure_and_parameter_count():
    """Two 5x5 convolutions, 2C -> C then C -> C, with biases: for C = 8,
    25 * (16 * 8 + 8 * 8) + 8 + 8 = 4816 parameters."""
    block = ConvFusionBlock(8)
    assert [tuple(c.weight.shape) for c in block.convs] == \
        [(8, 16, 5, 5), (8, 8, 5, 5)]
    assert [c.padding for c in block.convs] == [(2, 2), (2, 2)]
    assert sum(p.numel() for p in block.parameters()) == 4816
    assert MODELS.get('ConvFusionBlock') is ConvFusionBlock


def test_block_concatenates_visible_first_then_one_linear_conv():
    """One conv whose centre taps read 1 x the visible and 0.5 x the
    infrared channel computes f_vis + 0.5 f_ir exactly: the first C input
    channels are the visible feature."""
    block = ConvFusionBlock(3, num_convs=1)
    conv = block.convs[0]
    _identity_taps(conv, 0, 1.0)
    with torch.no_grad():
        for c in range(3):
            conv.weight[c, 3 + c, 2, 2] = 0.5
    f_vis, f_ir = torch.randn(2, 3, 7, 9), torch.randn(2, 3, 7, 9)
    torch.testing.assert_close(block(f_vis, f_ir), f_vis + 0.5 * f_ir)


def test_leaky_relu_between_the_convs_and_none_after_the_last():
    """Identity taps in both convs (reading the visible half): the output is
    LeakyReLU_0.2(f_vis): -1 -> -0.2, 3 -> 3. A trailing activation would
    turn the second conv's -0.2 into -0.04."""
    block = ConvFusionBlock(2)
    _identity_taps(block.convs[0], 0, 1.0)
    _identity_taps(block.convs[1], 0, 1.0)
    f_vis = torch.tensor([-1.0, 3.0]).view(1, 2, 1, 1).expand(1, 2, 5, 5)
    out = block(f_vis.contiguous(), torch.randn(1, 2, 5, 5))
    assert torch.allclose(out[0, :, 2, 2], torch.tensor([-0.2, 3.0]))
    # a negative second-conv tap: -(-0.2) = 0.2 stays, no ReLU after it
    _identity_taps(block.convs[1], 0, -1.0)
    out = block(f_vis.contiguous(), torch.randn(1, 2, 5, 5))
    assert torch.allclose(out[0, :, 2, 2], torch.tensor([0.2, -3.0]))


@pytest.mark.parametrize('num_convs, reach', [(1, 2), (2, 4)])
def test_receptive_field_is_that_of_5x5_convolutions(num_convs, reach):
    """An impulse in the visible feature changes the output within
    ``2 * num_convs`` pixels of it (5x5 kernels) and nowhere else."""
    torch.manual_seed(0)
    block = ConvFusionBlock(4, num_convs=num_convs).eval()
    f_vis, f_ir = torch.zeros(1, 4, 21, 21), torch.zeros(1, 4, 21, 21)
    base = block(f_vis, f_ir)
    f_vis[0, 1, 10, 10] = 1.0
    changed = (block(f_vis, f_ir) - base).abs().amax(dim=(0, 1)) > 0
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert rows.min() == cols.min() == 10 - reach
    assert rows.max() == cols.max() == 10 + reach


def test_block_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match='channels must be >= 1, got 0'):
        ConvFusionBlock(0)
    with pytest.raises(ValueError, match='kernel_size must be a positive '
                       'odd integer, got 4'):
        ConvFusionBlock(8, kernel_size=4)
    with pytest.raises(ValueError, match='num_convs must be >= 1, got 0'):
        ConvFusionBlock(8, num_convs=0)
    block = ConvFusionBlock(8)
    with pytest.raises(ValueError, match=r'f_ir must have shape '
                       r'\(B, 8, H, W\), got \(1, 4, 6, 6\)'):
        block(torch.rand(1, 8, 6, 6), torch.rand(1, 4, 6, 6))
    with pytest.raises(ValueError, match='same shape'):
        block(torch.rand(1, 8, 6, 6), torch.rand(1, 8, 6, 7))
    with pytest.raises(ValueError, match='has no attention maps'):
        block(torch.rand(1, 8, 6, 6), torch.rand(1, 8, 6, 6),
              return_attention=True)


# -------------------------------------------------------------- network ---
@pytest.fixture(scope='module')
def conv_net():
    torch.manual_seed(0)
    return MSFAMNet(stem_channels=4, widths=(8, 8, 16, 16),
                    fusion_block='conv').eval()


def test_net_has_one_conv_block_per_scale(conv_net):
    assert [type(b) for b in conv_net.fusion_blocks] == [ConvFusionBlock] * 4
    assert [b.channels for b in conv_net.fusion_blocks] == [8, 8, 16, 16]
    assert all(b.kernel_size == 5 for b in conv_net.fusion_blocks)
    built = MODELS.build(dict(type='MSFAMNet', fusion_block='conv'))
    assert [b.channels for b in built.fusion_blocks] == [64, 112, 160, 208]


def test_default_net_keeps_the_attention_blocks():
    """The default is the paper's network (the shipped weights' keys are
    checked against it in tests/test_apis/test_shipped_weights.py)."""
    net = MSFAMNet(stem_channels=4, widths=(8, 8, 16, 16))
    assert net.fusion_block == 'attention'
    assert [type(b) for b in net.fusion_blocks] == [AttentionFusionBlock] * 4


def test_only_the_fusion_blocks_differ_from_the_attention_net(conv_net):
    """Encoder and decoder parameters have the same names and shapes, so
    a stage-1 checkpoint starts either variant, missing only fusion_blocks.
    """
    att = MSFAMNet(stem_channels=4, widths=(8, 8, 16, 16)).state_dict()
    conv = conv_net.state_dict()
    shared = {k: v.shape for k, v in att.items()
              if not k.startswith('fusion_blocks.')}
    assert shared == {k: v.shape for k, v in conv.items()
                      if not k.startswith('fusion_blocks.')}
    assert {k for k in conv if k.startswith('fusion_blocks.')} == {
        f'fusion_blocks.{s}.convs.{j}.{p}'
        for s in range(4) for j in range(2) for p in ('weight', 'bias')}
    ae = msfam_autoencoder(stem_channels=4, widths=(8, 8, 16, 16))
    net = MSFAMNet(stem_channels=4, widths=(8, 8, 16, 16),
                   fusion_block='conv')
    res = net.load_state_dict(ae.state_dict(), strict=False)
    assert not res.unexpected_keys
    assert sorted(res.missing_keys) == sorted(
        k for k in conv if k.startswith('fusion_blocks.'))


def test_conv_net_fuses_any_size_and_uses_both_inputs(conv_net):
    vis, ir = torch.rand(2, 1, 37, 45), torch.rand(2, 1, 37, 45)
    with torch.no_grad():
        out = conv_net(vis, ir)
        assert out.shape == vis.shape
        # both sources reach the output
        assert not torch.allclose(out, conv_net(vis, torch.rand_like(ir)))
        assert not torch.allclose(out, conv_net(torch.rand_like(vis), ir))


def test_conv_net_trains_its_blocks():
    """A backward pass gives every conv fusion parameter a gradient."""
    torch.manual_seed(0)
    net = MSFAMNet(stem_channels=4, widths=(8, 8, 16, 16),
                   fusion_block='conv').train()
    net(torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16)).mean().backward()
    for name, p in net.fusion_blocks.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_net_option_errors(conv_net):
    with pytest.raises(ValueError, match=r"fusion_block must be one of "
                       r"\('attention', 'conv'\), got 'conv5x5'"):
        MSFAMNet(fusion_block='conv5x5')
    with pytest.raises(ValueError, match="fusion_block='conv', which has "
                       'no attention maps'):
        conv_net(torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16),
                 return_attention=True)
    # the stage-1 auto-encoder has no fusion blocks whatever the option
    assert len(msfam_autoencoder(fusion_block='conv').fusion_blocks) == 0
