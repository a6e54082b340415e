"""Entropy and mutual information (msfam_mm.evaluation.fusion_metrics.
information): closed form, MI(x, x) = EN(x), invariance to a permutation
of the grey levels and agreement with numpy's histogram2d."""
import numpy as np
import pytest

from msfam_mm.evaluation.fusion_metrics import entropy, mutual_information


# --------------------------------------------------------------- closed form
def test_entropy_of_uniform_256_level_histogram_is_8():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert entropy(x) == pytest.approx(8.0, abs=1e-12)
    two = np.array([[0, 255]] * 4, np.uint8)
    assert entropy(two) == pytest.approx(1.0, abs=1e-12)


def test_mi_of_image_with_itself_equals_its_entropy(tno_pair):
    vis, ir = tno_pair
    for img in (vis, ir):
        assert mutual_information(img, img) == pytest.approx(entropy(img),
                                                             abs=1e-9)
    # MI is bounded by either entropy.
    mi = mutual_information(vis, ir)
    assert 0 <= mi <= min(entropy(vis), entropy(ir))


def test_entropy_and_mi_invariant_to_grey_level_permutation(tno_pair):
    vis, ir = tno_pair
    perm = np.random.default_rng(3).permutation(256).astype(np.uint8)
    assert entropy(perm[vis]) == pytest.approx(entropy(vis), abs=1e-9)
    assert mutual_information(perm[vis], ir) == pytest.approx(
        mutual_information(vis, ir), abs=1e-9)


# ------------------------------------------- independent formulations
def test_mi_matches_independent_histogram2d_formulation(tno_pair):
    vis, ir = tno_pair
    joint, _, _ = np.histogram2d(vis.ravel(), ir.ravel(), bins=256,
                                 range=[[0, 256], [0, 256]])
    p = joint / joint.sum()
    pa = p.sum(1, keepdims=True)
    pb = p.sum(0, keepdims=True)
    nz = p > 0
    ref = float(np.sum(p[nz] * np.log2(p[nz] / (pa @ pb)[nz])))
    assert mutual_information(vis, ir) == pytest.approx(ref, abs=1e-9)
