from .formatting import PackFusionInputs
from .loading import LoadGreyImage, read_grey_image
from .paired_random_crop import PairedRandomCrop
from .paired_random_flip import PairedRandomFlip
from .random_rule_fusion import (RandomRuleFusion, fuse_max, fuse_two_scale,
                                 fuse_weighted_average)

__all__ = ['LoadGreyImage', 'read_grey_image', 'PairedRandomCrop',
           'PairedRandomFlip', 'RandomRuleFusion', 'fuse_weighted_average',
           'fuse_max', 'fuse_two_scale', 'PackFusionInputs']
