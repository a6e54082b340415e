"""CC and SCD (msfam_mm.evaluation.fusion_metrics.correlation): CC(x, x) = 1,
invariance to affine grey changes and SCD's definition."""
import cv2
import numpy as np
import pytest

from msfam_mm.evaluation.fusion_metrics import corr2, evaluate_fusion, scd


def test_cc_of_image_with_itself_is_one(tno_pair):
    vis, _ = tno_pair
    out = evaluate_fusion(vis, vis, vis, metrics=['CC'])
    assert out['CC'] == out['CC_V'] == out['CC_I'] == pytest.approx(1.0)
    assert corr2(vis, 255 - vis) == pytest.approx(-1.0)


def test_cc_invariant_to_affine_grey_changes(textured):
    small = (textured.astype(np.float64) * 0.4).round().astype(np.uint8)
    shifted = (small.astype(np.int32) * 2 + 7).astype(np.uint8)  # <= 211
    other = cv2.GaussianBlur(textured, (0, 0), 2)
    assert corr2(shifted, other) == pytest.approx(corr2(small, other),
                                                  abs=1e-12)
    assert corr2(255 - small, other) == pytest.approx(-corr2(small, other),
                                                      abs=1e-12)


def test_scd_definition(tno_pair):
    vis, ir = tno_pair
    fused = ((vis.astype(np.uint16) + ir) // 2).astype(np.uint8)
    f, v, i = (x.astype(float) for x in (fused, vis, ir))
    ref = (np.corrcoef((f - i).ravel(), v.ravel())[0, 1]
           + np.corrcoef((f - v).ravel(), i.ravel())[0, 1])
    assert sum(scd(fused, vis, ir)) == pytest.approx(ref, abs=1e-10)
