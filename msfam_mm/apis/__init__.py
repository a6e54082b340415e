"""Fusion inference, what a user calls: the ``FUSERS`` methods (classic
and learned), :func:`build_fuser` (the one place that checks a method's
arguments, :func:`check_fuser_arguments`), the :class:`FusionInferencer`
and model loading (docs/inference.md). Fusing many pairs into a recorded
output folder is :mod:`msfam_mm.batch_fusion`."""
from . import model_loading
from .base_fuser import BaseFuser, prepare_pair
from .classic_fusers import (AverageFuser, LaplacianPyramidFuser, MaxFuser,
                             average_fusion, laplacian_pyramid_fusion,
                             max_fusion)
from .inferencer import (FusionInferencer, build_fuser,
                         check_fuser_arguments, list_fusers)
from .learned_fusers import (MSFAMFuser, NestFuseStrategyFuser,
                             nestfuse_attention_fusion)

__all__ = [
    'BaseFuser', 'prepare_pair', 'AverageFuser', 'MaxFuser',
    'LaplacianPyramidFuser', 'MSFAMFuser', 'NestFuseStrategyFuser',
    'average_fusion', 'max_fusion', 'laplacian_pyramid_fusion',
    'nestfuse_attention_fusion', 'FusionInferencer', 'build_fuser',
    'check_fuser_arguments', 'list_fusers', 'model_loading'
]
