"""Registries used by msfam_mm.

msfam_mm registers its classes in MMDetection's registries (children of
mmengine's root registries), so that configs with ``default_scope='mmdet'``
find them next to every MMDetection class. ``FUSERS`` is the one registry of
our own: image-level fusion methods (learned and classic) behind one
interface, used by the inference API and the dataset tools.
"""
from mmdet.registry import (DATA_SAMPLERS, DATASETS, HOOKS, METRICS, MODELS,
                            OPTIM_WRAPPER_CONSTRUCTORS, TRANSFORMS)
from mmengine.registry import Registry

FUSERS = Registry('fuser', locations=['msfam_mm.apis'])

__all__ = ['MODELS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'METRICS',
           'HOOKS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'FUSERS']
