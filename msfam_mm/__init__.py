"""msfam_mm: MSFAM visible/infrared fusion and its KAIST detection downstream.

Importing this package registers every msfam_mm class (models, losses,
datasets, transforms, metrics, hooks) in MMDetection's registries, so configs
only need ``custom_imports=dict(imports=['msfam_mm'], allow_failed_imports=False)``.
"""
from .version import __version__
from . import engine  # noqa: F401  (first: patches checkpoint loading)
from . import apis, datasets, evaluation, models  # noqa: F401

__all__ = ['__version__']
