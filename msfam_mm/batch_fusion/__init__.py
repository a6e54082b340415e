"""Batch fusion: many image pairs fused into an output folder that keeps
its own records (resumable, sharded, checked), behind ``tools/fuse.py`` and
``tools/fuse_kaist.py`` (docs/inference.md).

Modules, in the order a run uses them (:mod:`.runs` reads top to bottom):

* :mod:`.settings` - what identifies a fused set (method, weights'
  sha256, precision, format, inputs);
* :mod:`.sources` - the pairs: two folders paired by name, or a KAIST copy
  (:mod:`.sharding` splits its frames among processes);
* :mod:`.annotations` - KAIST's annotations and lists carried along;
* :mod:`.records` - settings, frame lists and shard manifests on disk;
  :mod:`.merge` - their merged view ``manifest.json``;
* :mod:`.engine` - fuse the pending pairs (threads, atomic writes);
* :mod:`.errors` - argument errors a tool can render in its own flags;
* :mod:`.cli` - the options and error handling the two tools share.

The fusers themselves are :mod:`msfam_mm.apis`'.
"""
from .engine import PairTask
from .errors import ArgumentError
from .merge import merge_manifests
from .runs import fuse_folders, fuse_kaist
from .settings import fusion_settings
from .sharding import shard_from_env, shard_items
from .sources import KAISTFrame, discover_kaist_frames

__all__ = ['fuse_folders', 'fuse_kaist', 'merge_manifests', 'shard_items',
           'shard_from_env', 'fusion_settings', 'discover_kaist_frames',
           'KAISTFrame', 'PairTask', 'ArgumentError']
