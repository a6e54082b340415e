"""Correlation-based fusion metrics: CC and SCD (Section 4.1).

* CC (correlation coefficient; e.g. Ma et al., "Infrared and visible image
  fusion methods and applications: a survey", Inf. Fusion 2019):
  ``CC_V = corr2(F, V)``, ``CC_I = corr2(F, I)``; the usual table value
  (Tang's MATLAB suite) is their mean.
* SCD (Aslantas & Bendes, "A new image quality metric for image fusion: the
  sum of the correlations of differences", AEU 2015):
  ``SCD = corr2(F - I, V) + corr2(F - V, I)``; the first term measures how
  much of V the fused image carries beyond I, and vice versa.

``corr2`` is MATLAB's Pearson correlation over all pixels; see
``_utils.corr2`` for the constant-image convention (0.0).
"""
from typing import Tuple

import numpy as np

from ._utils import as_float, corr2


def correlation_coefficient(fused: np.ndarray, vis: np.ndarray,
                            ir: np.ndarray) -> Tuple[float, float]:
    """Return ``(corr2(F, V), corr2(F, I))`` for grey uint8 images.

    Example:
        >>> x = np.arange(64, dtype=np.uint8).reshape(8, 8)
        >>> correlation_coefficient(x, x, 255 - x)
        (1.0, -1.0)
    """
    return corr2(fused, vis), corr2(fused, ir)


def scd(fused: np.ndarray, vis: np.ndarray,
        ir: np.ndarray) -> Tuple[float, float]:
    """Return the two SCD terms ``(corr2(F - I, V), corr2(F - V, I))``
    (Aslantas & Bendes 2015, Eq. 4-5); SCD is their sum.

    Differences are taken in float64 (no uint8 wrap-around).
    """
    f, v, i = as_float(fused), as_float(vis), as_float(ir)
    return corr2(f - i, v), corr2(f - v, i)
