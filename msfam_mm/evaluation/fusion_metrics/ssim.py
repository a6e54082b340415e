"""SSIM and MS-SSIM between two 8-bit images (Section 4.1, MS_SSIM).

* SSIM (Wang, Bovik, Sheikh, Simoncelli, "Image quality assessment: from
  error visibility to structural similarity", IEEE TIP 2004): local means,
  variances and covariance under an 11x11 Gaussian window (sigma 1.5),
  'valid' filtering as in the authors' ``ssim_index.m``::

      SSIM = mean( (2 mu_x mu_y + C1)(2 s_xy + C2)
                   / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)) )

  with ``C1 = (0.01 * 255)^2`` and ``C2 = (0.03 * 255)^2``.
* MS-SSIM (Wang, Simoncelli, Bovik, "Multiscale structural similarity for
  image quality assessment", Asilomar 2003; the authors' ``msssim.m``):
  5 scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333); the
  contrast-structure term ``cs`` at scales 1-4 and the full SSIM at scale 5,
  ``MS-SSIM = prod_j cs_j^{w_j} * SSIM_5^{w_5}``. Between scales each image
  is averaged over 2x2 blocks (``imfilter(ones(2)/4, 'symmetric')`` then
  every second pixel).

Conventions where the reference code is undefined:

* Negative ``cs`` (anti-correlated structure) would give a complex power in
  MATLAB; it is clamped to 0 (as in the widely used pytorch-msssim), so the
  MS-SSIM is 0 then.
* Images too small for 5 scales (the coarsest scale, after four halvings
  that keep every second pixel, i.e. ceil(H / 16) rows, must still hold the
  11x11 window: min(H, W) >= 161): MS-SSIM uses as many scales as fit
  (the largest ``L`` whose scale-``L`` image is at least 11 pixels on each
  side) with the first ``L`` weights renormalised to sum 1, and warns once.
  This keeps RoadScene (heights down to ~160) evaluable; ``msssim.m``
  returns -Inf there instead. Images under 11x11 raise ``ValueError``.
"""
import warnings
from typing import Tuple

import numpy as np

from ._utils import as_float, filter_valid, gaussian_kernel_1d, to_gray_uint8

WIN_SIZE = 11
WIN_SIGMA = 1.5
DATA_RANGE = 255.0
K1, K2 = 0.01, 0.03
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_WIN = gaussian_kernel_1d(WIN_SIZE, WIN_SIGMA)
_warned_small = False


def _ssim_cs(x: np.ndarray, y: np.ndarray) -> Tuple[float, float]:
    """Mean SSIM and mean contrast-structure term of two float images."""
    c1 = (K1 * DATA_RANGE) ** 2
    c2 = (K2 * DATA_RANGE) ** 2
    mu_x = filter_valid(x, _WIN)
    mu_y = filter_valid(y, _WIN)
    mxx, myy, mxy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    s_xx = filter_valid(x * x, _WIN) - mxx
    s_yy = filter_valid(y * y, _WIN) - myy
    s_xy = filter_valid(x * y, _WIN) - mxy
    cs_map = (2.0 * s_xy + c2) / (s_xx + s_yy + c2)
    lum_map = (2.0 * mxy + c1) / (mxx + myy + c1)
    return float(np.mean(lum_map * cs_map)), float(np.mean(cs_map))


def _check_pair(x, y, fn):
    a = as_float(to_gray_uint8(x, 'x'))
    b = as_float(to_gray_uint8(y, 'y'))
    if a.shape != b.shape:
        raise ValueError(f'{fn}: shapes differ, x is {a.shape} and y is '
                         f'{b.shape}')
    if min(a.shape) < WIN_SIZE:
        raise ValueError(f'{fn}: image of size {a.shape[0]}x{a.shape[1]} is '
                         f'smaller than the {WIN_SIZE}x{WIN_SIZE} window')
    return a, b


def ssim_index(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM of two 8-bit images (Wang et al. 2004), in [-1, 1].

    Defined for constant images through C1, C2 (two equal constant images
    give 1).

    Example:
        >>> x = np.arange(256, dtype=np.uint8).reshape(16, 16)
        >>> ssim_index(x, x)
        1.0
    """
    a, b = _check_pair(x, y, 'ssim_index')
    return _ssim_cs(a, b)[0]


def _downsample2(img: np.ndarray) -> np.ndarray:
    """2x2 block mean, odd sizes padded symmetrically (msssim.m)."""
    h, w = img.shape
    img = np.pad(img, ((0, h % 2), (0, w % 2)), mode='symmetric')
    return 0.25 * (img[0::2, 0::2] + img[1::2, 0::2]
                   + img[0::2, 1::2] + img[1::2, 1::2])


def ssim_and_ms_ssim(x: np.ndarray, y: np.ndarray,
                     multiscale: bool = True) -> Tuple[float, float]:
    """Return ``(SSIM, MS-SSIM)`` of two 8-bit images, sharing the
    full-resolution statistics (MS-SSIM's first scale is SSIM's input).
    With ``multiscale=False`` the second value is NaN (not computed)."""
    global _warned_small
    # errors name the metric asked for
    a, b = _check_pair(x, y, 'ms_ssim_index' if multiscale else 'ssim_index')
    s_full, cs_full = _ssim_cs(a, b)
    if not multiscale:
        return s_full, float('nan')
    # Number of scales whose image still holds the window.
    levels, h, w = 1, a.shape[0], a.shape[1]
    while levels < len(MS_SSIM_WEIGHTS):
        h, w = (h + 1) // 2, (w + 1) // 2
        if min(h, w) < WIN_SIZE:
            break
        levels += 1
    weights = np.asarray(MS_SSIM_WEIGHTS[:levels])
    if levels < len(MS_SSIM_WEIGHTS):
        weights = weights / weights.sum()
        if not _warned_small:
            warnings.warn(
                f'ms_ssim_index: image {a.shape[0]}x{a.shape[1]} is too small '
                f'for {len(MS_SSIM_WEIGHTS)} scales; using {levels} scale(s) '
                'with renormalised weights (see docs/metrics.md)')
            _warned_small = True
    value = 1.0
    s, cs = s_full, cs_full
    for j in range(levels):
        if j > 0:
            a, b = _downsample2(a), _downsample2(b)
            s, cs = _ssim_cs(a, b)
        term = s if j == levels - 1 else cs
        value *= max(term, 0.0) ** weights[j]
    return s_full, float(value)


def ms_ssim_index(x: np.ndarray, y: np.ndarray) -> float:
    """Multi-scale SSIM (Wang et al. 2003) of two 8-bit images, in [0, 1].

    See the module docstring for small images and negative ``cs`` values.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.integers(0, 256, (200, 200), dtype=np.uint8)
        >>> round(ms_ssim_index(x, x), 12)
        1.0
    """
    return ssim_and_ms_ssim(x, y)[1]
