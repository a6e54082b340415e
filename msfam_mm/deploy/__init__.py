"""Deployment of the fusion networks: ONNX export with a recorded
preprocessing contract, and the ONNX Runtime / OpenVINO backends the fusers
run it on (docs/inference.md, "Backends")."""
from .onnx_export import (CONTRACT, FORMAT, export_fusion_onnx,
                          fusion_onnx_bytes, is_onnx_model, pad_for_graph,
                          read_fusion_onnx_metadata)
from .runtimes import (AUTO_ORDER, BACKENDS, OnnxRuntimeRunner,
                       OpenVINORunner, available_backends, backend_installed,
                       backend_precisions, build_runner,
                       openvino_cpu_has_bf16, resolve_backend,
                       resolve_precision)
from .tiling import auto_tile_size, fuse_tiled, tile_grid, tile_starts

__all__ = [
    'CONTRACT', 'FORMAT', 'export_fusion_onnx', 'fusion_onnx_bytes',
    'is_onnx_model',
    'pad_for_graph', 'read_fusion_onnx_metadata', 'AUTO_ORDER', 'BACKENDS',
    'OnnxRuntimeRunner', 'OpenVINORunner', 'available_backends',
    'backend_installed', 'backend_precisions', 'build_runner',
    'openvino_cpu_has_bf16', 'resolve_backend', 'resolve_precision',
    'auto_tile_size', 'fuse_tiled', 'tile_grid', 'tile_starts'
]
