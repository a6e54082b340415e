"""msfam_mm: MSFAM visible/infrared fusion and its KAIST detection downstream.

Importing this package registers every fusion class (networks, losses,
datasets, transforms, metrics, hooks, fusers) in msfam_mm's registries
(:mod:`msfam_mm.registry`, scope ``'msfam_mm'``) and needs torch, mmengine
and light pure-Python packages only. The fusion configs say
``default_scope='msfam_mm'`` and
``custom_imports=dict(imports=['msfam_mm'], allow_failed_imports=False)``.

The KAIST detection downstream (GFLV2 head, KAIST dataset and metric) needs
MMDetection and a compiled mmcv; it is the optional layer
:mod:`msfam_mm.detection`, imported by the detection configs, never here.
"""
from .version import __version__
from . import engine  # noqa: F401  (first: patches checkpoint loading)
from . import apis, datasets, evaluation, models  # noqa: F401

__all__ = ['__version__']
