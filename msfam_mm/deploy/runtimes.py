"""Inference backends for the exported fusion graphs: ONNX Runtime and
OpenVINO, behind one callable interface, and how ``'auto'`` picks one.

A runner takes the padded pair as ``float32`` numpy arrays ``(B, 1, H, W)``
(see :data:`msfam_mm.deploy.onnx_export.CONTRACT`) and returns the fused
array of the same shape. Backend choice (docs/inference.md, "Backends"):

* ``'openvino'``: fastest on x86 CPUs; compiles the graph once per input
  shape (static shapes let it pick the best kernels) and keeps the last
  :attr:`OpenVINORunner.max_compiled` compiled models. ``'bf16'`` sets
  OpenVINO's inference precision hint to bf16 and needs a CPU whose
  OpenVINO plugin lists ``BF16`` in ``OPTIMIZATION_CAPABILITIES`` (AVX-512
  BF16 or AMX): :func:`openvino_cpu_has_bf16`.
* ``'onnxruntime'``: portable CPU runtime, fp32 only here.
* ``'torch'``: the PyTorch module itself (the only backend on CUDA).

``'auto'`` resolves to ``torch`` on CUDA, otherwise to the first of
:data:`AUTO_ORDER` that is installed.
"""
import functools
import importlib.util
import os
from collections import OrderedDict
from typing import List, Optional, Union

import numpy as np

from .onnx_export import SIZE_DIVISOR

#: every backend name; 'auto' is resolved by :func:`resolve_backend`
BACKENDS = ('torch', 'onnxruntime', 'openvino')
#: CPU preference of 'auto' (fastest first; docs/benchmarks.md)
AUTO_ORDER = ('openvino', 'onnxruntime', 'torch')
_MODULES = dict(torch='torch', onnxruntime='onnxruntime',
                openvino='openvino')

ModelSource = Union[str, os.PathLike, bytes]


def backend_installed(backend: str) -> bool:
    """Whether the Python package of ``backend`` can be imported."""
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS} or auto, got '
                         f'{backend!r}')
    return importlib.util.find_spec(_MODULES[backend]) is not None


def available_backends() -> List[str]:
    """The installed backends, in :data:`BACKENDS` order."""
    return [b for b in BACKENDS if backend_installed(b)]


def resolve_backend(backend: str, device_type: str) -> str:
    """Turn ``'auto'`` into a backend for ``device_type`` and check that a
    named one is installed and runs there.

    Raises:
        ValueError: unknown name, or an exported-graph backend on CUDA.
        ImportError: the backend's package is not installed.
    """
    if backend == 'auto':
        if device_type != 'cpu':
            return 'torch'
        return next(b for b in AUTO_ORDER if backend_installed(b))
    if not backend_installed(backend):
        raise ImportError(
            f"backend {backend!r} is not installed (pip install "
            f"{_MODULES[backend]}); installed: "
            f"{', '.join(available_backends())}")
    if backend != 'torch' and device_type != 'cpu':
        raise ValueError(f'backend {backend!r} runs on the CPU here; use '
                         f"backend 'torch' for device {device_type!r}")
    return backend


@functools.lru_cache(maxsize=None)
def openvino_cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin runs bf16 natively on this CPU (asked
    once per process: the answer is the CPU's)."""
    if not backend_installed('openvino'):
        return False
    import openvino as ov
    caps = ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
    return 'BF16' in caps


def backend_precisions(backend: str) -> List[str]:
    """The precisions ``backend`` can run on this machine's CPU."""
    if backend == 'openvino':
        return ['fp32', 'bf16'] if openvino_cpu_has_bf16() else ['fp32']
    if backend == 'onnxruntime':
        return ['fp32']
    raise ValueError(f'backend_precisions: {backend!r} is no exported-graph '
                     'backend')


def resolve_precision(backend: str, precision: str) -> str:
    """``'auto'`` -> the fastest precision ``backend`` runs here (bf16 for
    OpenVINO on a CPU with native bf16, else fp32); a named one is checked.

    Raises:
        ValueError: naming the backend, the precision and what it can run.
    """
    choices = backend_precisions(backend)
    if precision == 'auto':
        return 'bf16' if 'bf16' in choices else 'fp32'
    if precision not in choices:
        why = (' (this CPU has no native bf16: OpenVINO lists no BF16 in '
               'OPTIMIZATION_CAPABILITIES)' if backend == 'openvino'
               and precision == 'bf16' else '')
        raise ValueError(f'backend {backend!r} cannot run precision '
                         f'{precision!r} on this machine{why}; it runs: '
                         f"{', '.join(choices)}")
    return precision


def _check_pair(vis: np.ndarray, ir: np.ndarray, where: str) -> None:
    if vis.shape != ir.shape or vis.ndim != 4 or vis.shape[1] != 1:
        raise ValueError(f'{where}: expected two (B, 1, H, W) arrays of one '
                         f'shape, got {vis.shape} and {ir.shape}')
    h, w = vis.shape[2:]
    if h % SIZE_DIVISOR or w % SIZE_DIVISOR:
        raise ValueError(f'{where}: input size {h}x{w} is not padded to '
                         f'multiples of {SIZE_DIVISOR} (see '
                         'onnx_export.CONTRACT)')


class OnnxRuntimeRunner:
    """Run an exported fusion graph with ONNX Runtime's CPU provider.

    Args:
        model: path of the ``.onnx`` file or its bytes.
        threads: intra-op threads (``None``: ONNX Runtime's default, all
            physical cores).
    """

    backend = 'onnxruntime'
    precision = 'fp32'

    def __init__(self, model: ModelSource,
                 threads: Optional[int] = None) -> None:
        import onnxruntime as ort
        options = ort.SessionOptions()
        # the default arena keeps every block it ever allocated: tile after
        # tile of a large image it grew to 17 GB (docs/benchmarks.md)
        options.enable_cpu_mem_arena = False
        if threads:
            options.intra_op_num_threads = int(threads)
        source = model if isinstance(model, bytes) else os.fspath(model)
        self.session = ort.InferenceSession(
            source, options, providers=['CPUExecutionProvider'])

    def __call__(self, vis: np.ndarray, ir: np.ndarray) -> np.ndarray:
        _check_pair(vis, ir, 'OnnxRuntimeRunner')
        return self.session.run(None, {'vis': vis, 'ir': ir})[0]


class OpenVINORunner:
    """Run an exported fusion graph with OpenVINO on the CPU.

    Args:
        model: path of the ``.onnx`` file or its bytes.
        precision: ``'fp32'`` or ``'bf16'`` (checked by
            :func:`resolve_precision`).
        threads: inference threads (``None``: OpenVINO's default).
        max_compiled: compiled shapes kept (least recently used dropped).
    """

    backend = 'openvino'

    def __init__(self, model: ModelSource, precision: str = 'fp32',
                 threads: Optional[int] = None,
                 max_compiled: int = 4) -> None:
        import openvino as ov
        self.precision = resolve_precision('openvino', precision)
        self.core = ov.Core()
        if isinstance(model, bytes):
            self.model = self.core.read_model(model=model,
                                              weights=ov.Tensor(np.empty(
                                                  0, np.uint8)))
        else:
            self.model = self.core.read_model(os.fspath(model))
        self.config = {
            'INFERENCE_PRECISION_HINT':
            'bf16' if self.precision == 'bf16' else 'f32',
            'PERFORMANCE_HINT': 'LATENCY',
        }
        if threads:
            self.config['INFERENCE_NUM_THREADS'] = int(threads)
        self.max_compiled = int(max_compiled)
        self._compiled: 'OrderedDict[tuple, object]' = OrderedDict()

    def compiled_for(self, shape: tuple):
        """The model compiled for input ``shape`` (cached)."""
        if shape in self._compiled:
            self._compiled.move_to_end(shape)
            return self._compiled[shape]
        model = self.model.clone()
        model.reshape({'vis': list(shape), 'ir': list(shape)})
        compiled = self.core.compile_model(model, 'CPU', self.config)
        self._compiled[shape] = compiled
        while len(self._compiled) > self.max_compiled:
            self._compiled.popitem(last=False)
        return compiled

    def __call__(self, vis: np.ndarray, ir: np.ndarray) -> np.ndarray:
        _check_pair(vis, ir, 'OpenVINORunner')
        compiled = self.compiled_for(tuple(vis.shape))
        result = compiled({'vis': vis, 'ir': ir})
        return np.asarray(result[compiled.output(0)])


def build_runner(backend: str, model: ModelSource, precision: str = 'auto',
                 threads: Optional[int] = None):
    """An :class:`OnnxRuntimeRunner` or :class:`OpenVINORunner`."""
    if backend == 'onnxruntime':
        resolve_precision(backend, precision)
        return OnnxRuntimeRunner(model, threads)
    if backend == 'openvino':
        return OpenVINORunner(model, resolve_precision(backend, precision),
                              threads)
    raise ValueError(f'build_runner: backend must be onnxruntime or '
                     f'openvino, got {backend!r}')
