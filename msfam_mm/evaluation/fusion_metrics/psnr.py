"""Peak signal-to-noise ratio between two 8-bit images.

``PSNR(X, Y) = 10 log10(255^2 / MSE(X, Y))`` in dB with
``MSE = mean((X - Y)^2)`` on values 0-255 (e.g. Jagalingam & Hegde, "A
review of quality metrics for fused image", Aquatic Procedia 2015). The
fusion suites (VIFB, Tang) report ``10 log10(255^2 / ((MSE_V + MSE_I)/2))``;
see ``evaluate.py``. Identical images give ``inf``.
"""
import numpy as np

from ._utils import as_float, to_gray_uint8

PEAK = 255.0  # 8-bit peak value


def mse(x: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of two 8-bit images on values 0-255."""
    a = as_float(to_gray_uint8(x, 'x'))
    b = as_float(to_gray_uint8(y, 'y'))
    if a.shape != b.shape:
        raise ValueError(f'mse: shapes differ, x is {a.shape} and y is '
                         f'{b.shape}')
    d = a - b
    return float(np.mean(d * d))


def psnr_from_mse(value: float) -> float:
    """``10 log10(255^2 / mse)``; ``inf`` for ``mse == 0``."""
    if value == 0:
        return float('inf')
    return float(10.0 * np.log10(PEAK * PEAK / value))


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    """PSNR in dB of two 8-bit images; ``inf`` when they are identical.

    Example:
        >>> psnr(np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8))
        0.0
    """
    return psnr_from_mse(mse(x, y))
