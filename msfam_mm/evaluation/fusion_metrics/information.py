"""Information-theoretic fusion metrics: EN and MI (Section 4.1, [42-45]).

* EN (Roberts et al., "Assessment of image fusion procedures using entropy,
  image quality, and multispectral classification", J. Appl. Remote Sens.
  2008): ``EN(X) = -sum_l p_X(l) log2 p_X(l)`` over the 256-bin histogram
  of the uint8 image, as MATLAB's ``entropy`` on uint8.
* MI (Qu, Zhang, Yan, "Information measure for performance of image
  fusion", Electron. Lett. 2002):
  ``MI(F, X) = H(F) + H(X) - H(F, X)`` from 256-bin marginal and 256x256
  joint histograms, in bits (log2). The fusion value is
  ``MI(F, V) + MI(F, I)`` (see ``combine`` in ``evaluate.py``).
"""
import numpy as np

from ._utils import to_gray_uint8


def _entropy_from_counts(counts: np.ndarray) -> float:
    p = counts[counts > 0].astype(np.float64)
    p /= p.sum()
    return float(-np.sum(p * np.log2(p)))


def entropy(img: np.ndarray) -> float:
    """Shannon entropy EN of an 8-bit image, in bits (Section 4.1).

    ``EN = -sum_{l=0}^{255} p(l) log2 p(l)`` with ``p`` the normalised
    256-bin histogram; empty bins contribute 0. A constant image gives 0.

    Example:
        >>> entropy(np.arange(256, dtype=np.uint8).reshape(16, 16))
        8.0
    """
    img = to_gray_uint8(img)
    return _entropy_from_counts(np.bincount(img.ravel(), minlength=256))


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information ``MI(A, B) = H(A) + H(B) - H(A, B)`` in bits.

    Histograms have 256 bins per image (one per grey level) and the joint
    histogram 256x256 bins. ``MI(X, X) = EN(X)``; an image independent of
    the other (e.g. a constant one) gives 0.

    Example:
        >>> x = np.arange(256, dtype=np.uint8).reshape(16, 16)
        >>> mutual_information(x, x)
        8.0
    """
    a = to_gray_uint8(a, 'a')
    b = to_gray_uint8(b, 'b')
    if a.shape != b.shape:
        raise ValueError(f'mutual_information: shapes differ, a is {a.shape} '
                         f'and b is {b.shape}')
    ai = a.ravel().astype(np.int64)
    bi = b.ravel().astype(np.int64)
    h_a = _entropy_from_counts(np.bincount(ai, minlength=256))
    h_b = _entropy_from_counts(np.bincount(bi, minlength=256))
    h_ab = _entropy_from_counts(np.bincount(ai * 256 + bi, minlength=65536))
    # Clamp the round-off of H(A)+H(B)-H(A,B) (exactly >= 0 in theory).
    return max(h_a + h_b - h_ab, 0.0)
