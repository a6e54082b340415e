"""Figures of msfam_mm's results (matplotlib only; not imported by
``import msfam_mm``)."""
from .kaist_plots import (AP_KEYS, MISS_RATE_SUBSETS, ap_bar_figure,
                          miss_rate_figure, save_figure)

__all__ = [
    'AP_KEYS', 'MISS_RATE_SUBSETS', 'ap_bar_figure', 'miss_rate_figure',
    'save_figure'
]
