"""PSNR and the single-image statistics (msfam_mm.evaluation.fusion_metrics.
psnr, image_statistics): closed forms and MATLAB's gradient definition."""
import math

import numpy as np
import pytest

from msfam_mm.evaluation.fusion_metrics import (average_gradient, psnr,
                                                spatial_frequency,
                                                standard_deviation)


def test_psnr_and_simple_statistics_closed_form():
    a = np.zeros((8, 8), np.uint8)
    b = np.full((8, 8), 255, np.uint8)
    assert psnr(a, b) == pytest.approx(0.0)
    assert psnr(a, a) == math.inf
    half = np.zeros((8, 8), np.uint8)
    half[:, 4:] = 100
    assert standard_deviation(half) == pytest.approx(50.0)
    # One vertical edge of height 100: 8 of the 8x7 column differences.
    assert spatial_frequency(half) == pytest.approx(
        math.sqrt(8 * 100 ** 2 / (8 * 7)))


def test_average_gradient_matches_matlab_gradient_definition():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (6, 7)).astype(np.uint8)
    f = x.astype(np.float64)
    h, w = f.shape
    gx = np.zeros_like(f)
    gy = np.zeros_like(f)
    # MATLAB gradient: one-sided at the borders, central inside.
    gx[:, 0], gx[:, -1] = f[:, 1] - f[:, 0], f[:, -1] - f[:, -2]
    gx[:, 1:-1] = (f[:, 2:] - f[:, :-2]) / 2
    gy[0], gy[-1] = f[1] - f[0], f[-1] - f[-2]
    gy[1:-1] = (f[2:] - f[:-2]) / 2
    ref = np.sqrt((gx ** 2 + gy ** 2) / 2).sum() / ((h - 1) * (w - 1))
    assert average_gradient(x) == pytest.approx(ref, abs=1e-12)
