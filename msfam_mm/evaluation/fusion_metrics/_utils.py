"""Shared helpers of the fusion metrics: input checks, grey conversion and
MATLAB-compatible filtering.

Every metric works on 8-bit grey images (Section 4.1 of the paper evaluates
8-bit outputs normalised to 0-255) and does its float maths in float64 on
values 0-255, as the MATLAB suites (VIFB; Tang's "General Evaluation
Metric") do after ``double(img)``.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

# MATLAB rgb2gray weights (the exact coefficients MATLAB uses, i.e. the
# inverse of its NTSC transform's first row), applied to R, G, B.
RGB2GRAY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def to_gray_uint8(img: np.ndarray, name: str = 'image') -> np.ndarray:
    """Return ``img`` as a 2-D uint8 grey image.

    Args:
        img: uint8 array of shape (H, W), (H, W, 1), (H, W, 3) (RGB order,
            as MATLAB's ``imread``) or (H, W, 4) (alpha is dropped).
        name: how the image is named in error messages (e.g. its file path).

    A 3-channel image is converted with MATLAB's ``rgb2gray`` weights in
    float64 and rounded half away from zero to uint8, as MATLAB does.

    Example:
        >>> int(to_gray_uint8(np.full((2, 2, 3), 7, np.uint8))[0, 0])
        7
    """
    if not isinstance(img, np.ndarray):
        raise TypeError(f'{name}: expected a numpy uint8 array, '
                        f'got {type(img).__name__}')
    if img.dtype != np.uint8:
        raise TypeError(f'{name}: expected an 8-bit image (uint8), got dtype '
                        f'{img.dtype}; scale and round to 0-255 first')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    elif (img.ndim == 3 and img.shape[2] in (3, 4)
          and np.array_equal(img[:, :, 0], img[:, :, 1])
          and np.array_equal(img[:, :, 0], img[:, :, 2])):
        # Grey stored as 3 channels: the weights sum to 1 (to 1e-15), so
        # rgb2gray returns the channel itself; skip the float maths.
        img = img[:, :, 0]
    elif img.ndim == 3 and img.shape[2] in (3, 4):
        rgb = img[:, :, :3].astype(np.float64)
        grey = rgb @ np.asarray(RGB2GRAY_WEIGHTS, dtype=np.float64)
        # floor(x + 0.5) == MATLAB's round for the non-negative values here.
        img = np.clip(np.floor(grey + 0.5), 0, 255).astype(np.uint8)
    elif img.ndim != 2:
        raise ValueError(f'{name}: expected shape (H, W) or (H, W, 3), got '
                         f'{img.shape}')
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f'{name}: empty image of shape {img.shape}')
    return np.ascontiguousarray(img)


def check_same_size(images: Sequence[np.ndarray],
                    names: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the offending images if the sizes differ."""
    ref_shape = images[0].shape[:2]
    for img, name in zip(images[1:], names[1:]):
        if img.shape[:2] != ref_shape:
            raise ValueError(
                f'size mismatch: {names[0]} is {ref_shape[0]}x{ref_shape[1]} '
                f'(HxW) but {name} is {img.shape[0]}x{img.shape[1]}; fused '
                'and source images must have the same size')


def prepare(fused: np.ndarray, vis: np.ndarray, ir: np.ndarray,
            names: Optional[Sequence[str]] = None
            ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grey-convert and size-check a (fused, visible, infrared) triple."""
    names = list(names) if names is not None else ['fused', 'vis', 'ir']
    imgs = [to_gray_uint8(x, n) for x, n in zip((fused, vis, ir), names)]
    check_same_size(imgs, names)
    return imgs[0], imgs[1], imgs[2]


def as_float(img: np.ndarray) -> np.ndarray:
    """uint8 -> float64 on 0-255 (MATLAB ``double(img)``)."""
    return np.asarray(img, dtype=np.float64)


def gaussian_kernel_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB's ``fspecial('gaussian', size, sigma)``.

    ``fspecial`` normalises the 2-D kernel to unit sum; the outer product of
    this unit-sum 1-D kernel with itself is that same 2-D kernel.
    """
    half = (size - 1) / 2.0
    x = np.arange(size, dtype=np.float64) - half
    k = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return k / k.sum()


def filter_valid(img: np.ndarray, k1d: np.ndarray) -> np.ndarray:
    """Separable correlation with ``k1d`` x ``k1d`` keeping only the 'valid'
    part, i.e. MATLAB ``filter2(k1d' * k1d, img, 'valid')``.

    Returns an empty array when the image is smaller than the kernel (MATLAB
    returns an empty matrix there too).
    """
    n = k1d.size
    h, w = img.shape
    if h < n or w < n:
        return np.zeros((max(h - n + 1, 0), max(w - n + 1, 0)), np.float64)
    r = n // 2
    # OpenCV correlates (no kernel flip) in float64; the border values only
    # affect the margin that 'valid' discards.
    out = cv2.sepFilter2D(img, cv2.CV_64F, k1d, k1d,
                          borderType=cv2.BORDER_CONSTANT)
    return out[r:h - (n - 1 - r), r:w - (n - 1 - r)]


def corr2(a: np.ndarray, b: np.ndarray) -> float:
    """MATLAB ``corr2``: Pearson correlation of all pixels of two images.

    If either image is constant the correlation is 0/0 (MATLAB returns NaN);
    we return 0.0: a constant image has no linear relationship to measure,
    and a finite value keeps averages and checkpoint selection usable.
    """
    a = as_float(a)
    b = as_float(b)
    da = a - a.mean()
    db = b - b.mean()
    den = np.sqrt(np.sum(da * da) * np.sum(db * db))
    if den == 0:
        return 0.0
    return float(np.sum(da * db) / den)
