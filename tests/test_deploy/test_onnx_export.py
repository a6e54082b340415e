"""ONNX export of the fusion networks (msfam_mm.deploy.onnx_export)."""
import json

import cv2
import numpy as np
import pytest
import torch

from msfam_mm.apis import build_fuser
from msfam_mm.apis.model_loading import DEFAULT_MSFAM_CHECKPOINT, file_sha256
from msfam_mm.deploy import (CONTRACT, FORMAT, export_fusion_onnx,
                             read_fusion_onnx_metadata)
from msfam_mm.models.networks import MSFAMNet, NestFuseStrategyNet

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')


@pytest.fixture(scope='module')
def shipped_torch():
    return build_fuser('msfam', backend='torch')


@pytest.fixture(scope='module')
def shipped_onnx(tmp_path_factory, shipped_torch):
    path = tmp_path_factory.mktemp('onnx') / 'msfam.onnx'
    shipped_torch.export_onnx(path)
    return path


def test_metadata_records_method_weights_and_contract(shipped_onnx):
    meta = read_fusion_onnx_metadata(shipped_onnx)
    assert meta['format'] == FORMAT
    assert meta['method'] == 'msfam'
    assert meta['weights_sha256'] == file_sha256(DEFAULT_MSFAM_CHECKPOINT)
    assert meta['contract'] == CONTRACT
    assert meta['options'] == {}


def test_graph_has_dynamic_batch_height_width(shipped_onnx):
    model = onnx.load(str(shipped_onnx))
    onnx.checker.check_model(model)
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        assert [d.dim_param or d.dim_value for d in dims] == \
            ['batch', 1, 'height', 'width'], value.name


def test_onnxruntime_matches_pytorch_on_real_pairs(shipped_torch,
                                                   shipped_onnx, tno42,
                                                   kaist_sample):
    """Real pairs at several sizes, odd ones included (crops of TNO 01),
    a batch of two, and a KAIST frame: within one grey level."""
    graph = build_fuser('msfam', checkpoint=str(shipped_onnx),
                        backend='onnxruntime')
    vis = cv2.imread(str(tno42 / 'vi' / '01.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '01.png'), cv2.IMREAD_GRAYSCALE)
    frame = sorted((kaist_sample / 'images').glob('*/*/visible/*'))[0]
    pairs = [(vis[:201, :333], ir[:201, :333]),
             (vis[5:42, 9:62], ir[5:42, 9:62]),
             (str(frame), str(frame).replace('visible', 'lwir'))]
    for v, i in pairs:
        a = shipped_torch(v, i).astype(int)
        b = graph(v, i).astype(int)
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= 1
    batch = graph([vis, vis[:201, :333]], [ir, ir[:201, :333]])
    assert np.abs(batch[1].astype(int)
                  - shipped_torch(vis[:201, :333], ir[:201, :333])).max() <= 1


def test_nestfuse_graph_keeps_its_options(tmp_path):
    torch.manual_seed(0)
    ae = MSFAMNet(with_fusion=False).eval()
    ckpt = tmp_path / 'ae.pth'
    torch.save(ae.state_dict(), ckpt)
    torch_fuser = build_fuser('nestfuse', 'configs/msfam_stage1.py', str(ckpt),
                              spatial_mode='l1_ratio')
    out = tmp_path / 'nestfuse.onnx'
    meta = torch_fuser.export_onnx(out)
    assert meta['options'] == {'spatial_mode': 'l1_ratio'}
    rng = np.random.default_rng(0)
    v = rng.integers(0, 256, (45, 61), dtype=np.uint8)
    i = rng.integers(0, 256, (45, 61), dtype=np.uint8)
    graph = build_fuser('nestfuse', None, str(out), backend='onnxruntime',
                        spatial_mode='l1_ratio')
    assert np.abs(graph(v, i).astype(int)
                  - torch_fuser(v, i).astype(int)).max() <= 1
    # the same file asked for the other strategy is refused, not run
    with pytest.raises(ValueError, match="spatial_mode.*export again"):
        build_fuser('nestfuse', None, str(out), backend='onnxruntime')
    # ... and so is a graph of another method
    with pytest.raises(ValueError, match="method 'nestfuse', not 'msfam'"):
        build_fuser('msfam', checkpoint=str(out), backend='onnxruntime')


def test_foreign_onnx_and_non_onnx_files_are_refused(tmp_path):
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [1])
    other = helper.make_model(helper.make_graph(
        [helper.make_node('Identity', ['x'], ['y'])], 'other', [x], [y]))
    path = tmp_path / 'other.onnx'
    onnx.save(other, str(path))
    with pytest.raises(ValueError, match=r'other\.onnx: not an msfam_mm '
                       r'fusion graph.*no msfam_mm metadata'):
        read_fusion_onnx_metadata(path)
    text = tmp_path / 'notes.onnx'
    text.write_text('not a model')
    with pytest.raises(ValueError, match=r'notes\.onnx: not a readable ONNX'):
        build_fuser('msfam', checkpoint=str(text), backend='openvino')
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        read_fusion_onnx_metadata(tmp_path / 'missing.onnx')


def test_onnx_file_needs_a_graph_backend(shipped_onnx):
    with pytest.raises(ValueError, match="onnxruntime or openvino backend, "
                       "not 'torch'"):
        build_fuser('msfam', checkpoint=str(shipped_onnx), backend='torch')


def test_export_never_overwrites_the_checkpoint(tmp_path):
    ckpt = tmp_path / 'net.onnx.pth'
    torch.save(MSFAMNet().state_dict(), ckpt)
    before = ckpt.read_bytes()
    fuser = build_fuser('msfam', 'configs/msfam_stage2.py', str(ckpt))
    with pytest.raises(ValueError, match='is the input checkpoint'):
        fuser.export_onnx(ckpt)
    assert ckpt.read_bytes() == before


def test_export_without_path_writes_nothing(tmp_path):
    net = NestFuseStrategyNet(MSFAMNet(with_fusion=False)).eval()
    meta = export_fusion_onnx(net, None, method='nestfuse',
                              options={'spatial_mode': 'softmax'})
    assert list(tmp_path.iterdir()) == []
    assert read_fusion_onnx_metadata(meta['onnx_bytes'])['options'] == \
        {'spatial_mode': 'softmax'}
    assert json.loads(json.dumps(meta['contract'])) == CONTRACT


def test_cache_reuses_a_graph_only_for_the_same_weights(tmp_path):
    from msfam_mm.deploy.onnx_export import cached_fusion_onnx
    torch.manual_seed(0)
    net = MSFAMNet(stem_channels=4, widths=(8, 8, 8, 8)).eval()
    first = cached_fusion_onnx(net, method='msfam', weights_sha256='a' * 64,
                               cache_dir=tmp_path)
    entries = list(tmp_path.iterdir())
    assert len(entries) == 1
    # the entry is read back, not exported again: a marker survives
    entries[0].write_bytes(first.replace(b'msfam_mm', b'msfam_mm', 1))
    assert cached_fusion_onnx(net, method='msfam', weights_sha256='a' * 64,
                              cache_dir=tmp_path) == first
    other = cached_fusion_onnx(net, method='msfam', weights_sha256='b' * 64,
                               cache_dir=tmp_path)
    assert read_fusion_onnx_metadata(other)['weights_sha256'] == 'b' * 64
    assert len(list(tmp_path.iterdir())) == 2
    # a damaged entry is replaced, not used
    entries[0].write_bytes(b'garbage')
    assert cached_fusion_onnx(net, method='msfam', weights_sha256='a' * 64,
                              cache_dir=tmp_path) == first
