"""The ONNX export (msfam_mm.deploy.onnx_export) of the convolutional-fusion
variant (``MSFAMNet(fusion_block='conv')``, the paper's Table 2 ablation):
``fuse_padded`` is traced whatever its fusion blocks are, and the graph
computes what PyTorch does."""
import numpy as np
import pytest
import torch

from msfam_mm.apis import build_fuser
from msfam_mm.deploy import export_fusion_onnx, read_fusion_onnx_metadata
from msfam_mm.models.networks import MSFAMNet

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

CONV_CONFIG = 'configs/cpu/ablations/msfam_stage2_cpu_conv_fusion.py'


def test_tiny_conv_net_graph_matches_pytorch():
    torch.manual_seed(0)
    net = MSFAMNet(stem_channels=4, widths=(8, 8, 16, 16),
                   fusion_block='conv').eval()
    meta = export_fusion_onnx(net, None, method='msfam')
    proto = onnx.load_from_string(meta['onnx_bytes'])
    # the fusion blocks' 5x5 kernels are in the graph: 2C -> C and C -> C
    # per scale, and no attention (no Sigmoid node)
    kernels = sorted(tuple(t.dims) for t in proto.graph.initializer
                     if len(t.dims) == 4 and t.dims[2:] == [5, 5])
    assert kernels == sorted([(8, 16, 5, 5), (8, 8, 5, 5)] * 2
                             + [(16, 32, 5, 5), (16, 16, 5, 5)] * 2)
    assert 'Sigmoid' not in {n.op_type for n in proto.graph.node}
    session = ort.InferenceSession(meta['onnx_bytes'],
                                   providers=['CPUExecutionProvider'])
    # another size and batch than the tracing example (dynamic axes)
    vis, ir = torch.rand(2, 1, 40, 56), torch.rand(2, 1, 40, 56)
    got = session.run(None, {'vis': vis.numpy(), 'ir': ir.numpy()})[0]
    with torch.no_grad():
        want = net.fuse_padded(vis, ir).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_conv_fusion_config_exports_through_the_fuser(tmp_path):
    """The ablation config's network, with a checkpoint of its own, fuses
    with PyTorch and from its exported graph within one grey level."""
    torch.manual_seed(0)
    ckpt = tmp_path / 'conv_fusion.pth'
    torch.save(MSFAMNet(fusion_block='conv').state_dict(), ckpt)
    fuser = build_fuser('msfam', CONV_CONFIG, str(ckpt))
    out = tmp_path / 'conv_fusion.onnx'
    fuser.export_onnx(out)
    assert read_fusion_onnx_metadata(out)['method'] == 'msfam'
    rng = np.random.default_rng(0)
    v = rng.integers(0, 256, (45, 61), dtype=np.uint8)
    i = rng.integers(0, 256, (45, 61), dtype=np.uint8)
    graph = build_fuser('msfam', None, str(out), backend='onnxruntime')
    assert np.abs(graph(v, i).astype(int) - fuser(v, i).astype(int)).max() \
        <= 1
    # the shipped attention weights do not fit this network
    with pytest.raises(KeyError, match=r'missing \[.fusion_blocks\.0\.convs'):
        build_fuser('msfam', CONV_CONFIG)
