"""Backend choice and the ONNX Runtime / OpenVINO runners
(msfam_mm.deploy.runtimes) and the fusers' ``backend`` option."""
import importlib.util

import numpy as np
import pytest
import torch

from msfam_mm.apis import build_fuser
from msfam_mm.deploy import runtimes
from msfam_mm.deploy.onnx_export import export_fusion_onnx
from msfam_mm.models.networks import MSFAMNet

pytest.importorskip('openvino')
pytest.importorskip('onnxruntime')


@pytest.fixture(scope='module')
def small_graph():
    """A narrow random MSFAMNet as ONNX bytes (fast to compile)."""
    torch.manual_seed(0)
    net = MSFAMNet(stem_channels=4, widths=(8, 8, 8, 8)).eval()
    return export_fusion_onnx(net, None, method='msfam')['onnx_bytes'], net


def test_auto_is_torch_on_cuda_and_openvino_on_cpu():
    assert runtimes.resolve_backend('auto', 'cuda') == 'torch'
    assert runtimes.resolve_backend('auto', 'cpu') == 'openvino'


def test_auto_falls_back_in_order_when_packages_are_missing(monkeypatch):
    real = importlib.util.find_spec
    missing = {'openvino'}
    monkeypatch.setattr(runtimes.importlib.util, 'find_spec',
                        lambda name: None if name in missing else real(name))
    assert runtimes.resolve_backend('auto', 'cpu') == 'onnxruntime'
    missing.add('onnxruntime')
    assert runtimes.resolve_backend('auto', 'cpu') == 'torch'
    with pytest.raises(ImportError, match="backend 'openvino' is not "
                       r"installed \(pip install openvino\); installed: "
                       "torch"):
        runtimes.resolve_backend('openvino', 'cpu')


def test_graph_backends_refuse_cuda_and_unknown_names():
    with pytest.raises(ValueError, match="use backend 'torch' for device "
                       "'cuda'"):
        runtimes.resolve_backend('onnxruntime', 'cuda')
    with pytest.raises(ValueError, match="got 'tensorrt'"):
        runtimes.resolve_backend('tensorrt', 'cpu')


def test_precisions_are_checked_per_backend(monkeypatch):
    with pytest.raises(ValueError, match="backend 'onnxruntime' cannot run "
                       "precision 'bf16'.*it runs: fp32"):
        runtimes.resolve_precision('onnxruntime', 'bf16')
    assert runtimes.resolve_precision('onnxruntime', 'auto') == 'fp32'
    monkeypatch.setattr(runtimes, 'openvino_cpu_has_bf16', lambda: False)
    assert runtimes.resolve_precision('openvino', 'auto') == 'fp32'
    with pytest.raises(ValueError, match='this CPU has no native bf16'):
        runtimes.resolve_precision('openvino', 'bf16')
    monkeypatch.setattr(runtimes, 'openvino_cpu_has_bf16', lambda: True)
    assert runtimes.resolve_precision('openvino', 'auto') == 'bf16'


def test_openvino_compiles_once_per_shape_and_keeps_the_latest(small_graph):
    data, net = small_graph
    runner = runtimes.OpenVINORunner(data, 'fp32', max_compiled=2)
    a = runner.compiled_for((1, 1, 16, 24))
    assert runner.compiled_for((1, 1, 16, 24)) is a
    runner.compiled_for((1, 1, 24, 16))
    runner.compiled_for((2, 1, 16, 16))
    assert list(runner._compiled) == [(1, 1, 24, 16), (2, 1, 16, 16)]
    x = torch.rand(2, 1, 16, 16)
    y = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        ref = net.fuse_padded(x, y).numpy()
    out = runner(x.numpy(), y.numpy())
    np.testing.assert_allclose(out, ref, atol=1e-4)


def test_runners_refuse_unpadded_sizes(small_graph):
    data, _ = small_graph
    x = np.zeros((1, 1, 20, 30), np.float32)
    for runner in (runtimes.OpenVINORunner(data),
                   runtimes.OnnxRuntimeRunner(data)):
        with pytest.raises(ValueError, match='20x30 is not padded'):
            runner(x, x)


def test_classic_methods_run_on_torch_only():
    assert build_fuser('laplacian', backend='auto').backend == 'torch'
    with pytest.raises(ValueError, match="runs on backend.*torch, not "
                       "'openvino'"):
        build_fuser('laplacian', backend='openvino')


def test_fuser_records_backend_and_resolved_precision():
    fuser = build_fuser('msfam', backend='onnxruntime', precision='auto')
    info = fuser.describe()
    assert (info['backend'], info['precision']) == ('onnxruntime', 'fp32')
    assert info['weights_sha256'] == info['checkpoint_sha256']
    assert build_fuser('average').describe()['backend'] == 'torch'


@pytest.mark.skipif(not runtimes.openvino_cpu_has_bf16(),
                    reason='this CPU has no native bf16 for OpenVINO')
def test_openvino_bf16_on_real_pairs_stays_close(tno42):
    """bf16 moves the min-max stretched output by under one grey level on
    average (docs/benchmarks.md has the per-metric comparison)."""
    import cv2
    torch_fuser = build_fuser('msfam', backend='torch')
    ov = build_fuser('msfam', backend='openvino', precision='bf16')
    for name in ('05', '17'):
        v = cv2.imread(str(tno42 / 'vi' / f'{name}.png'), 0)
        i = cv2.imread(str(tno42 / 'ir' / f'{name}.png'), 0)
        d = np.abs(ov(v, i).astype(int) - torch_fuser(v, i).astype(int))
        assert d.mean() < 1.0 and d.max() <= 4, (name, d.mean(), d.max())
