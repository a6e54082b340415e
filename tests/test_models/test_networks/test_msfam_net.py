"""MSFAMNet (msfam_mm/models/networks/msfam_net.py, docs/CONTRACTS.md
"Network"): shapes and padding, structure, attention maps, the paper's
complexity and input checks."""
import math

import pytest
import torch
import torch.nn.functional as F

from msfam_mm.models.networks import (AttentionFusionBlock, HINBlock,
                                      HINEncoder, MSFAMNet, NestDecoder,
                                      SemanticConstraintClassifier,
                                      msfam_autoencoder, msfam_net,
                                      pad_to_divisor)


# Paper, Table 6: MSFAM has 3.8 M parameters and 106 G(MAC)s at 320x256.
PAPER_PARAMS = 3.8e6
PAPER_MACS = 106e9
TOLERANCE = 0.15


@pytest.fixture(scope='module')
def net():
    torch.manual_seed(0)
    return msfam_net().eval()


@pytest.fixture(scope='module')
def small_net():
    """Narrow MSFAMNet: same topology and padding logic, cheap at big sizes."""
    torch.manual_seed(0)
    return MSFAMNet(stem_channels=4, widths=(8, 8, 16, 16)).eval()


def _read_grey(path):
    cv2 = pytest.importorskip('cv2')
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert img is not None, f'cannot read {path}'
    return torch.from_numpy(img).float().div(255)[None, None]


# --------------------------------------------------------------- shapes ---
@pytest.mark.parametrize('hw', [(1, 1), (3, 50), (17, 9), (37, 45)])
def test_paper_net_output_shape_equals_input(net, hw):
    vis, ir = torch.rand(1, 1, *hw), torch.rand(1, 1, *hw)
    with torch.no_grad():
        fused = net(vis, ir)
        rec = net.reconstruct(vis)
    assert fused.shape == vis.shape
    assert rec.shape == vis.shape
    assert torch.isfinite(fused).all() and torch.isfinite(rec).all()


@pytest.mark.parametrize('hw', [(291, 397), (576, 768)])
def test_large_odd_sizes_output_shape(small_net, hw):
    vis, ir = torch.rand(1, 1, *hw), torch.rand(1, 1, *hw)
    with torch.no_grad():
        assert small_net(vis, ir).shape == vis.shape
        assert small_net.reconstruct(ir).shape == ir.shape


def test_pad_to_divisor_modes():
    x = torch.arange(12.).reshape(1, 1, 3, 4)
    # reflect where the pad is smaller than the side ...
    p = pad_to_divisor(x, 4)
    assert p.shape == (1, 1, 4, 4)
    assert torch.equal(p[..., 3, :], x[..., 1, :])  # reflected row
    # ... replicate for sides smaller than the pad.
    p = pad_to_divisor(x, 8, min_size=16)
    assert p.shape == (1, 1, 16, 16)
    assert torch.equal(p[..., 15, :4], x[..., 2, :])
    assert torch.equal(p[..., :3, 15], x[..., :, 3])
    # already divisible: returned unchanged (no copy)
    y = torch.rand(1, 1, 16, 24)
    assert pad_to_divisor(y, 8) is y


def test_padding_is_internal_and_cropped(small_net):
    """reconstruct() == decode(encode(reflect-padded x)) cropped back."""
    torch.manual_seed(1)
    x = torch.rand(1, 1, 21, 30)
    net = small_net
    with torch.no_grad():
        ref = net.decode(net.encode(F.pad(x, (0, 2, 0, 3), mode='reflect')))
        out = net.reconstruct(x)
    torch.testing.assert_close(out, ref[..., :21, :30])


def test_forward_equals_separate_encoder_passes(small_net):
    """The stacked vis/ir encoder pass equals two passes and is per-sample."""
    torch.manual_seed(2)
    net = small_net
    vis, ir = torch.rand(2, 1, 24, 32), torch.rand(2, 1, 24, 32)
    with torch.no_grad():
        fused = net(vis, ir)
        ref = net.decode(net.fuse_features(net.encode(vis), net.encode(ir)))
        single = net(vis[1:], ir[1:])
    torch.testing.assert_close(fused, ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fused[1:], single, rtol=1e-4, atol=1e-5)


def test_fused_output_depends_on_both_inputs(net):
    torch.manual_seed(7)
    vis = torch.rand(1, 1, 16, 16, requires_grad=True)
    ir = torch.rand(1, 1, 16, 16, requires_grad=True)
    net(vis, ir).sum().backward()
    assert vis.grad.abs().sum() > 0 and ir.grad.abs().sum() > 0
    net.zero_grad(set_to_none=True)


def test_training_mode_backward_on_tiny_input():
    torch.manual_seed(3)
    net = MSFAMNet(stem_channels=4, widths=(8, 8, 16, 16)).train()
    vis = torch.rand(2, 1, 5, 7, requires_grad=True)
    out = net(vis, torch.rand(2, 1, 5, 7))
    out.mean().backward()
    assert vis.grad is not None and torch.isfinite(vis.grad).all()
    for name, p in net.named_parameters():
        assert p.grad is not None, f'{name} got no gradient'


# ------------------------------------------------------------ structure ---
def test_structure_and_parameter_prefixes(net):
    assert isinstance(net.encoder, HINEncoder)
    assert isinstance(net.decoder, NestDecoder)
    assert len(net.fusion_blocks) == 4
    assert all(isinstance(b, AttentionFusionBlock) for b in net.fusion_blocks)
    assert all(isinstance(b, HINBlock) for b in net.encoder.blocks)
    # NestFuse widths and 1 -> 16 stem
    assert [b.out_channels for b in net.encoder.blocks] == [64, 112, 160, 208]
    assert net.encoder.stem[0].in_channels == 1
    assert net.encoder.stem[0].out_channels == 16
    assert [b.channels for b in net.fusion_blocks] == [64, 112, 160, 208]
    prefixes = {n.split('.')[0] for n, _ in net.named_parameters()}
    assert prefixes == {'encoder', 'decoder', 'fusion_blocks'}
    feats = net.encode(torch.rand(1, 1, 32, 40))
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 32, 40), (112, 16, 20),
                                                   (160, 8, 10), (208, 4, 5)]


def test_spatial_kernel_sizes_7_5_5_3(net):
    sizes = [b.spatial_attention.conv.kernel_size for b in net.fusion_blocks]
    assert sizes == [(7, 7), (5, 5), (5, 5), (3, 3)]
    for b in net.fusion_blocks:
        conv = b.spatial_attention.conv
        assert conv.in_channels == 2 and conv.out_channels == 1


def test_stage1_checkpoint_loads_into_stage2_net():
    ae = msfam_autoencoder()
    assert len(ae.fusion_blocks) == 0
    with pytest.raises(RuntimeError, match='with_fusion=False'):
        ae(torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16))
    full = msfam_net()
    res = full.load_state_dict(ae.state_dict(), strict=False)
    assert res.unexpected_keys == []
    assert res.missing_keys and all(
        k.startswith('fusion_blocks.') for k in res.missing_keys)


def test_attention_maps_shapes_and_range(net):
    torch.manual_seed(5)
    h, w = 21, 27
    vis, ir = torch.rand(2, 1, h, w), torch.rand(2, 1, h, w)
    with torch.no_grad():
        fused, att = net(vis, ir, return_attention=True)
        plain = net(vis, ir)
    torch.testing.assert_close(fused, plain)
    assert len(att) == 4
    for s, (maps, c) in enumerate(zip(att, (64, 112, 160, 208))):
        hs, ws = math.ceil(h / 2**s), math.ceil(w / 2**s)
        assert set(maps) == {'channel_max', 'channel_avg', 'spatial',
                             'spatial_vis', 'spatial_ir'}
        assert maps['channel_max'].shape == (2, c, 1, 1)
        assert maps['channel_avg'].shape == (2, c, 1, 1)
        for key in ('spatial', 'spatial_vis', 'spatial_ir'):
            assert maps[key].shape == (2, 1, hs, ws), (s, key)
        for key, m in maps.items():
            assert ((m > 0) & (m < 1)).all(), (s, key)


def test_attention_maps_on_real_tno_pair(tno42, small_net):
    vis = _read_grey(tno42 / 'vi' / '01.png')
    ir = _read_grey(tno42 / 'ir' / '01.png')
    h, w = vis.shape[-2:]
    with torch.no_grad():
        fused, att = small_net(vis, ir, return_attention=True)
    assert fused.shape == vis.shape and torch.isfinite(fused).all()
    for s, maps in enumerate(att):
        assert maps['spatial'].shape[-2:] == (math.ceil(h / 2**s),
                                              math.ceil(w / 2**s))
        assert ((maps['spatial'] > 0) & (maps['spatial'] < 1)).all()
    # different images give different infrared / visible attention
    assert not torch.allclose(att[0]['spatial_vis'], att[0]['spatial_ir'])


# ----------------------------------------------------------- complexity ---
def test_complexity_budget_matches_paper(net):
    """Params and MACs of the inference path within 15 % of Table 6."""
    analysis = pytest.importorskip('mmengine.analysis')
    vis, ir = torch.rand(1, 1, 256, 320), torch.rand(1, 1, 256, 320)
    info = analysis.get_model_complexity_info(
        net, inputs=(vis, ir), show_table=False, show_arch=False)
    params, macs = info['params'], info['flops']  # mmengine flops = MACs
    assert abs(params - PAPER_PARAMS) <= TOLERANCE * PAPER_PARAMS, params
    assert abs(macs - PAPER_MACS) <= TOLERANCE * PAPER_MACS, macs
    # the encoder is shared by both modalities: counted once in params
    n = {k: sum(p.numel() for p in getattr(net, k).parameters())
         for k in ('encoder', 'fusion_blocks', 'decoder')}
    assert params == sum(n.values())
    # stage-1 auto-encoder has exactly encoder + decoder parameters
    ae = msfam_autoencoder()
    assert sum(p.numel() for p in ae.parameters()) == \
        n['encoder'] + n['decoder']


# --------------------------------------------------------------- errors ---
@pytest.mark.parametrize('vis, ir, match', [
    (torch.rand(1, 16, 16), torch.rand(1, 16, 16), r'vis must have shape'),
    (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), r'\(B, 1, H, W\)'),
    (torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 17), 'same shape'),
    (torch.rand(2, 1, 16, 16), torch.rand(1, 1, 16, 16), 'same shape'),
    (torch.zeros(1, 1, 16, 16, dtype=torch.uint8),
     torch.zeros(1, 1, 16, 16, dtype=torch.uint8), 'floating-point'),
    (torch.rand(1, 1, 0, 16), torch.rand(1, 1, 0, 16), 'empty'),
    ([[0.0]], torch.rand(1, 1, 16, 16), 'torch.Tensor'),
])
def test_forward_rejects_bad_input(small_net, vis, ir, match):
    with pytest.raises(ValueError, match=match):
        small_net(vis, ir)


def test_other_bad_inputs(small_net):
    with pytest.raises(ValueError, match='reconstruct: x must have shape'):
        small_net.reconstruct(torch.rand(1, 2, 16, 16))
    with pytest.raises(ValueError, match='divisible by 8'):
        small_net.encode(torch.rand(1, 1, 12, 16))
    with pytest.raises(ValueError, match='expected 4 scales'):
        small_net.fuse_features([torch.rand(1, 8, 8, 8)] * 3,
                                [torch.rand(1, 8, 8, 8)] * 3)
    with pytest.raises(ValueError, match='f_ir must have shape'):
        small_net.fusion_blocks[0](torch.rand(1, 8, 4, 4),
                                   torch.rand(1, 9, 4, 4))
    with pytest.raises(ValueError, match='spatial_kernel_sizes'):
        MSFAMNet(spatial_kernel_sizes=(7, 5, 3))
    with pytest.raises(ValueError, match='odd'):
        AttentionFusionBlock(8, spatial_kernel_size=4)
    clf = SemanticConstraintClassifier()
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        clf(torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match='floating-point'):
        clf(torch.zeros(2, 1, 16, 16, dtype=torch.uint8))


def test_registered_in_models_registry():
    from msfam_mm.registry import MODELS
    net = MODELS.build(dict(type='MSFAMNet', with_fusion=False))
    assert isinstance(net, MSFAMNet) and not net.with_fusion
    clf = MODELS.build(dict(type='SemanticConstraintClassifier'))
    assert isinstance(clf, SemanticConstraintClassifier)
