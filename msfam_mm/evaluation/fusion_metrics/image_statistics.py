"""No-reference image statistics used in fusion tables: SD, SF and AG.

All are computed in float64 on grey values 0-255 (VIFB's convention; note
that Tang's MATLAB suite computes SF on ``im2double`` values in [0, 1], so
its SF is ours divided by 255).

* SD (standard deviation, population form): ``sqrt(mean((F - mean F)^2))``
  (Rao, "In-fibre Bragg grating sensors", Meas. Sci. Technol. 1997, as cited
  by the fusion literature).
* SF (Eskicioglu & Fisher, "Image quality measures and their performance",
  IEEE Trans. Commun. 1995): ``SF = sqrt(RF^2 + CF^2)`` with
  ``RF^2 = mean((F[i, j] - F[i-1, j])^2)`` over the (H-1) x W vertical
  differences and ``CF^2`` likewise over the H x (W-1) horizontal ones.
* AG (Cui et al., "Detail preserved fusion of visible and infrared images
  using regional saliency extraction and multi-scale image decomposition",
  Opt. Commun. 2015): ``AG = sum(sqrt((Gx^2 + Gy^2) / 2)) / ((H-1)(W-1))``
  with ``Gx, Gy`` from MATLAB's ``gradient`` (central differences inside,
  one-sided at the borders; ``numpy.gradient`` uses the same scheme).
"""
import numpy as np

from ._utils import as_float, to_gray_uint8


def standard_deviation(img: np.ndarray) -> float:
    """SD of an 8-bit image (population std, values 0-255).

    Example:
        >>> standard_deviation(np.array([[0, 255]], np.uint8))
        127.5
    """
    return float(np.std(as_float(to_gray_uint8(img))))


def spatial_frequency(img: np.ndarray) -> float:
    """SF = sqrt(RF^2 + CF^2) (Eskicioglu & Fisher 1995); 0 for a constant
    image. An image with a single row or column has no differences along that
    axis, which then contributes 0.

    Example:
        >>> spatial_frequency(np.array([[0, 10], [0, 10]], np.uint8))
        10.0
    """
    f = as_float(to_gray_uint8(img))
    dr = np.diff(f, axis=0)
    dc = np.diff(f, axis=1)
    rf2 = float(np.mean(dr * dr)) if dr.size else 0.0
    cf2 = float(np.mean(dc * dc)) if dc.size else 0.0
    return float(np.sqrt(rf2 + cf2))


def average_gradient(img: np.ndarray) -> float:
    """AG = sum(sqrt((Gx^2 + Gy^2) / 2)) / ((H-1)(W-1)) (Cui et al. 2015).

    Raises ``ValueError`` for images with fewer than 2 rows or columns (the
    normaliser is 0 there).

    Example:
        >>> average_gradient(np.array([[0, 2], [0, 2]], np.uint8))  # Gx=2
        5.656854249492381
    """
    f = as_float(to_gray_uint8(img))
    h, w = f.shape
    if h < 2 or w < 2:
        raise ValueError(f'average_gradient: image of shape {f.shape} is too '
                         'small (needs at least 2x2)')
    gy, gx = np.gradient(f)
    s = np.sqrt((gx * gx + gy * gy) / 2.0)
    return float(s.sum() / ((h - 1) * (w - 1)))
