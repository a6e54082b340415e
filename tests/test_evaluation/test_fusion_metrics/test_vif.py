"""VIF (msfam_mm.evaluation.fusion_metrics.vif) falls with blur and noise."""
import cv2
import numpy as np

from msfam_mm.evaluation.fusion_metrics import vif_p


def test_vif_decreases_with_blur_and_noise(textured):
    x = textured
    blurred = cv2.GaussianBlur(x, (0, 0), 2)
    rng = np.random.default_rng(0)
    noisy = np.clip(x + rng.normal(0, 25, x.shape), 0, 255).astype(np.uint8)
    assert vif_p(x, blurred) < 0.7
    assert vif_p(x, noisy) < 0.7
    assert vif_p(x, cv2.GaussianBlur(x, (0, 0), 4)) < vif_p(x, blurred)
