from .formatting import PackFusionInputs
from .loading import LoadGreyImage, read_grey_image
from .random_rule_fusion import (RandomRuleFusion, fuse_max, fuse_two_scale,
                                 fuse_weighted_average)
from .synced_crop import SyncedCenterCrop, SyncedRandomCrop
from .synced_random_flip import SyncedRandomFlip

__all__ = ['LoadGreyImage', 'read_grey_image', 'SyncedRandomCrop',
           'SyncedCenterCrop', 'SyncedRandomFlip', 'RandomRuleFusion',
           'fuse_weighted_average', 'fuse_max', 'fuse_two_scale',
           'PackFusionInputs']
