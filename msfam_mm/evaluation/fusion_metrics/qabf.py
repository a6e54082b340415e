"""Gradient-based fusion performance Q^{AB/F} (Qabf).

Xydeas & Petrovic, "Objective image fusion performance measure", Electron.
Lett. 36(4), 2000. For each source ``X`` in {A, B} and the fused ``F``,
with Sobel responses ``sx`` (kernel [[-1,0,1],[-2,0,2],[-1,0,1]]) and
``sy`` (kernel [[1,2,1],[0,0,0],[-1,-2,-1]]), 'same' size, zero padding::

    g = sqrt(sx^2 + sy^2),   alpha = atan(sy / sx)   (pi/2 where sx == 0)
    G^{XF} = min(g_X, g_F) / max(g_X, g_F)          (relative strength)
    A^{XF} = 1 - |alpha_X - alpha_F| / (pi/2)        (relative orientation)
    Q^{XF} = Gamma_g / (1 + exp(k_g (G^{XF} - s_g)))
           * Gamma_a / (1 + exp(k_a (A^{XF} - s_a)))
    Qabf   = sum(Q^{AF} w_A + Q^{BF} w_B) / sum(w_A + w_B),   w_X = g_X^L

with Gamma_g=0.9994, k_g=-15, s_g=0.5, Gamma_a=0.9879, k_a=-22, s_a=0.8,
L=1 (the values of the MATLAB implementations used by VIFB and Tang).

Zero gradients: where ``g_X = g_F = 0`` the strength ratio is 0 (as in the
MATLAB code), and such pixels have weight ``w_X = 0`` anyway. Where
``g_X = g_F > 0`` the ratio is 1 (min/max); the MATLAB code assigns ``g_F``
there instead (a typo of its if/else chain), which changes Q^{XF} at those
pixels by at most 6e-4 relative on 0-255 images (VIFB). Tang's driver
passes images scaled to [0, 1], where that branch gives a strength ratio
near 0 instead of 1: its Qabf can be much lower for fused images that copy
source pixels (e.g. a per-pixel max).
"""
from typing import Tuple

import cv2
import numpy as np

from ._utils import as_float, to_gray_uint8

# Sobel kernels (correlation form) of the brief / MATLAB suites.
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)
SOBEL_Y = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float64)
# Sigmoid parameters of Xydeas & Petrovic (2000).
GAMMA_G, KAPPA_G, SIGMA_G = 0.9994, -15.0, 0.5
GAMMA_A, KAPPA_A, SIGMA_A = 0.9879, -22.0, 0.8
L_EXP = 1.0


def _sobel(img: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Gradient strength and orientation with 'same' zero-padded filtering."""
    sx = cv2.filter2D(img, cv2.CV_64F, SOBEL_X, borderType=cv2.BORDER_CONSTANT)
    sy = cv2.filter2D(img, cv2.CV_64F, SOBEL_Y, borderType=cv2.BORDER_CONSTANT)
    g = np.sqrt(sx * sx + sy * sy)
    alpha = np.full_like(sx, np.pi / 2)
    nz = sx != 0
    alpha[nz] = np.arctan(sy[nz] / sx[nz])
    return g, alpha


def _edge_preservation(g_x, a_x, g_f, a_f) -> np.ndarray:
    """Q^{XF}: per-pixel edge preservation of source X in F."""
    hi = np.maximum(g_x, g_f)
    lo = np.minimum(g_x, g_f)
    ratio = np.divide(lo, hi, out=np.zeros_like(hi), where=hi > 0)
    orient = 1.0 - np.abs(a_x - a_f) / (np.pi / 2)
    q_g = GAMMA_G / (1.0 + np.exp(KAPPA_G * (ratio - SIGMA_G)))
    q_a = GAMMA_A / (1.0 + np.exp(KAPPA_A * (orient - SIGMA_A)))
    return q_g * q_a


def qabf_components(fused: np.ndarray, vis: np.ndarray, ir: np.ndarray
                    ) -> Tuple[float, float, float, float]:
    """Return ``(sum Q^{VF} w_V, sum w_V, sum Q^{IF} w_I, sum w_I)``.

    ``Qabf`` is ``(n_v + n_i) / (d_v + d_i)``; the per-source values used
    for the per-source columns and the Eq. 9 convention are ``n_v / d_v``
    and ``n_i / d_i``.
    """
    f = as_float(to_gray_uint8(fused, 'fused'))
    g_f, a_f = _sobel(f)
    out = []
    for src, name in ((vis, 'vis'), (ir, 'ir')):
        s = as_float(to_gray_uint8(src, name))
        if s.shape != f.shape:
            raise ValueError(f'qabf: shapes differ, fused is {f.shape} and '
                             f'{name} is {s.shape}')
        g_s, a_s = _sobel(s)
        w = g_s ** L_EXP
        q = _edge_preservation(g_s, a_s, g_f, a_f)
        out += [float(np.sum(q * w)), float(np.sum(w))]
    return out[0], out[1], out[2], out[3]


def qabf(fused: np.ndarray, vis: np.ndarray, ir: np.ndarray) -> float:
    """Q^{AB/F} of Xydeas & Petrovic (2000), in [0, 1).

    If neither source has any gradient (both constant) the ratio is 0/0
    (MATLAB: NaN); we return 0.0.

    Example:
        >>> x = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (32, 1))
        >>> round(qabf(x, x, x), 4)   # F = A = B: the sigmoids' maximum
        0.9748
    """
    n_v, d_v, n_i, d_i = qabf_components(fused, vis, ir)
    den = d_v + d_i
    return (n_v + n_i) / den if den > 0 else 0.0
