"""Fusion inference: the ``FUSERS`` methods, the inferencer and the engine
behind ``tools/fuse.py`` / ``tools/fuse_kaist.py`` (docs/inference.md)."""
from .base_fuser import BaseFuser, prepare_pair
from .classic_fusers import (AverageFuser, LaplacianPyramidFuser, MaxFuser,
                             average_fusion, laplacian_pyramid_fusion,
                             max_fusion)
from .folder_fusion import fuse_folders
from .fusion_engine import PairTask, run_fusion
from .inferencer import FusionInferencer, build_fuser, list_fusers
from .kaist_frames import KAISTFrame, discover_kaist_frames, shard_items
from .kaist_fusion import fuse_kaist
from .learned_fusers import (MSFAMFuser, NestFuseStrategyFuser,
                             nestfuse_attention_fusion)
from .manifest import merge_manifests

__all__ = [
    'BaseFuser', 'prepare_pair', 'AverageFuser', 'MaxFuser',
    'LaplacianPyramidFuser', 'MSFAMFuser', 'NestFuseStrategyFuser',
    'average_fusion', 'max_fusion', 'laplacian_pyramid_fusion',
    'nestfuse_attention_fusion', 'FusionInferencer', 'build_fuser',
    'list_fusers', 'PairTask', 'run_fusion', 'fuse_kaist', 'fuse_folders',
    'KAISTFrame', 'discover_kaist_frames', 'shard_items', 'merge_manifests'
]
