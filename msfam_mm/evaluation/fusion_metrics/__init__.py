"""Fusion quality metrics (Section 4.1 of the paper and the field's usual
others), a registered mmengine metric for stage-2 validation, and
``evaluate_fusion`` for tools and benchmarks. Conventions: docs/metrics.md.
"""
from .correlation import correlation_coefficient, scd
from .fusion_metric import FusionMetric
from .evaluate import (ALL_METRICS, CONVENTIONS, PAIRWISE_METRICS,
                       PAPER_METRICS, SINGLE_METRICS, canonical_metric_names,
                       evaluate_fusion, output_keys)
from .image_statistics import (average_gradient, spatial_frequency,
                               standard_deviation)
from .information import entropy, mutual_information
from .psnr import mse, psnr
from .qabf import qabf, qabf_components
from .source_balance import (BALANCE_KEYS, balance_from_values,
                             source_balance)
from .ssim import ms_ssim_index, ssim_and_ms_ssim, ssim_index
from .vif import vif_p, vif_p_multi
from ._utils import corr2, to_gray_uint8

__all__ = [
    'FusionMetric', 'source_balance', 'balance_from_values', 'BALANCE_KEYS',
    'evaluate_fusion', 'canonical_metric_names', 'output_keys',
    'ALL_METRICS', 'PAIRWISE_METRICS', 'SINGLE_METRICS', 'PAPER_METRICS',
    'CONVENTIONS', 'entropy', 'mutual_information', 'standard_deviation',
    'spatial_frequency', 'average_gradient', 'correlation_coefficient',
    'scd', 'corr2', 'vif_p', 'vif_p_multi', 'qabf', 'qabf_components',
    'ssim_index',
    'ms_ssim_index', 'ssim_and_ms_ssim', 'mse', 'psnr', 'to_gray_uint8',
]
