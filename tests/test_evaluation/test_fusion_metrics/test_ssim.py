"""SSIM and MS-SSIM as metrics (msfam_mm.evaluation.fusion_metrics.ssim):
SSIM(x, x) = 1, fewer MS-SSIM scales on small images and agreement with a
straightforward windowed formulation."""
import numpy as np
import pytest

from msfam_mm.evaluation.fusion_metrics import ms_ssim_index, ssim_index
import msfam_mm.evaluation.fusion_metrics.ssim as ssim_mod


def test_ssim_and_ms_ssim_of_image_with_itself_are_one(tno_pair):
    vis, ir = tno_pair
    assert ssim_index(vis, vis) == pytest.approx(1.0, abs=1e-12)
    assert ms_ssim_index(ir, ir) == pytest.approx(1.0, abs=1e-12)
    assert ssim_index(vis, ir) < 0.9


def test_small_images_use_fewer_ms_ssim_scales(textured):
    x = textured  # 96x120: only 4 scales hold the 11x11 window
    noisy = np.clip(x.astype(int) + 9 * (np.indices(x.shape).sum(0) % 3 - 1),
                    0, 255).astype(np.uint8)
    ssim_mod._warned_small = False
    with pytest.warns(UserWarning, match='4 scale'):
        value = ms_ssim_index(x, noisy)
    assert 0 < value < 1


def test_ssim_matches_straightforward_windowed_formulation(tno_pair):
    vis, ir = tno_pair
    a = vis[100:160, 200:270].astype(np.float64)
    b = ir[100:160, 200:270].astype(np.float64)
    r = np.arange(11) - 5
    w = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5 ** 2))
    w /= w.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    win_a = np.lib.stride_tricks.sliding_window_view(a, (11, 11))
    win_b = np.lib.stride_tricks.sliding_window_view(b, (11, 11))
    mu_a = np.einsum('ijkl,kl->ij', win_a, w)
    mu_b = np.einsum('ijkl,kl->ij', win_b, w)
    va = np.einsum('ijkl,kl->ij', (win_a - mu_a[..., None, None]) ** 2, w)
    vb = np.einsum('ijkl,kl->ij', (win_b - mu_b[..., None, None]) ** 2, w)
    cov = np.einsum('ijkl,kl->ij', (win_a - mu_a[..., None, None])
                    * (win_b - mu_b[..., None, None]), w)
    vals = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)
            / ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2)))
    assert ssim_index(a.astype(np.uint8), b.astype(np.uint8)) == \
        pytest.approx(float(vals.mean()), abs=1e-10)
