"""Detection heads for the KAIST downstream experiment (paper Section 4.4)."""
from .gflv2_head import (DistributionGuidedQualityPredictor, GFLV2Head,
                         distribution_statistics)
from .optional_pretrained_init import (OptionalPretrainedInit,
                                       resolve_checkpoint)

__all__ = [
    'GFLV2Head', 'DistributionGuidedQualityPredictor',
    'distribution_statistics', 'OptionalPretrainedInit', 'resolve_checkpoint'
]
