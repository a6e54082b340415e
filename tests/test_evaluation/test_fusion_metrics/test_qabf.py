"""Qabf (msfam_mm.evaluation.fusion_metrics.qabf) against a direct
formulation with scipy."""
import numpy as np
import pytest
from scipy.signal import correlate2d

from msfam_mm.evaluation.fusion_metrics import qabf
from msfam_mm.evaluation.fusion_metrics.qabf import (GAMMA_A, GAMMA_G,
                                                     KAPPA_A, KAPPA_G,
                                                     SIGMA_A, SIGMA_G)


def test_qabf_matches_direct_formulation_with_scipy(tno_pair):
    vis, ir = tno_pair
    v, i = vis[:80, :90], ir[:80, :90]
    f = np.maximum(v, i)
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    ky = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], float)

    def grad(img):
        sx = correlate2d(img.astype(float), kx, mode='same')
        sy = correlate2d(img.astype(float), ky, mode='same')
        with np.errstate(divide='ignore', invalid='ignore'):
            ang = np.where(sx == 0, np.pi / 2, np.arctan(sy / sx))
        return np.hypot(sx, sy), ang

    gf, af = grad(f)
    num = den = 0.0
    for src in (v, i):
        gs, a_s = grad(src)
        with np.errstate(divide='ignore', invalid='ignore'):
            ratio = np.where(gs > gf, gf / gs,
                             np.where(gs == gf, (gs > 0) * 1.0, gs / gf))
        orient = 1 - np.abs(a_s - af) / (np.pi / 2)
        q = (GAMMA_G / (1 + np.exp(KAPPA_G * (ratio - SIGMA_G)))
             * GAMMA_A / (1 + np.exp(KAPPA_A * (orient - SIGMA_A))))
        num += float((q * gs).sum())
        den += float(gs.sum())
    assert qabf(f, v, i) == pytest.approx(num / den, abs=1e-12)
