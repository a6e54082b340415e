"""KAIST evaluation: log-average miss rate (MR^-2) protocol, COCO AP on KAIST
annotations (pure Python; the mmengine metric for detectors is
:class:`msfam_mm.detection.KAISTMissRateMetric`)."""
from .coco_ap import coco_ap
from .kaist_protocol import (KAISTFrameGT, default_subsets,
                             evaluate_miss_rates, evaluation_setting,
                             gt_array, load_gt_from_coco, load_gt_from_layout)
from .miss_rate import (MR2_FPPI_POINTS, kaist_miss_rate,
                        log_average_miss_rate, match_frame,
                        pairwise_overlaps, roc_curve)

__all__ = [
    'coco_ap', 'KAISTFrameGT', 'default_subsets',
    'evaluate_miss_rates', 'evaluation_setting', 'gt_array',
    'load_gt_from_coco', 'load_gt_from_layout', 'MR2_FPPI_POINTS',
    'kaist_miss_rate', 'log_average_miss_rate', 'match_frame',
    'pairwise_overlaps', 'roc_curve'
]
