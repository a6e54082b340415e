"""evaluate_fusion (msfam_mm.evaluation.fusion_metrics.evaluate), all metrics
of one fused image at once: invariances, conventions, constant and black
images, input checks and real TNO pairs with published fusions."""
import math
import warnings

import numpy as np
import pytest

from msfam_mm.evaluation.fusion_metrics import (ALL_METRICS, PAPER_METRICS,
                                                evaluate_fusion, output_keys,
                                                qabf, ssim_index,
                                                to_gray_uint8, vif_p)
from msfam_mm.evaluation.fusion_metrics.qabf import (GAMMA_A, GAMMA_G,
                                                     KAPPA_A, KAPPA_G,
                                                     SIGMA_A, SIGMA_G)


def _textured_like(img):
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, img.shape, dtype=np.uint8)


def test_qabf_and_vif_when_fused_equals_both_sources(textured):
    x = textured
    # Q^{XF} is the product of the two sigmoids at ratio 1, orientation 1.
    q_max = (GAMMA_G / (1 + math.exp(KAPPA_G * (1 - SIGMA_G)))
             * GAMMA_A / (1 + math.exp(KAPPA_A * (1 - SIGMA_A))))
    assert qabf(x, x, x) == pytest.approx(q_max, abs=1e-12)
    assert vif_p(x, x) == pytest.approx(1.0, abs=1e-6)
    std = evaluate_fusion(x, x, x, metrics=['VIF', 'Qabf'])
    assert std['VIF'] == pytest.approx(2.0, abs=1e-6)   # VIFp(V,F)+VIFp(I,F)
    assert std['Qabf'] == pytest.approx(q_max, abs=1e-12)
    mean = evaluate_fusion(x, x, x, metrics=['VIF'], convention='mean')
    assert mean['VIF'] == pytest.approx(1.0, abs=1e-6)  # paper Eq. 9


# --------------------------------------------------------------- invariances
def test_rotation_by_180_degrees_leaves_metrics_unchanged(tno_pair):
    # (A mirror flip is not enough for Qabf: its orientation convention,
    # atan(sy/sx) with pi/2 where sx == 0, is only symmetric under sign
    # changes of both sx and sy.)
    vis, ir = tno_pair
    fused = ((vis.astype(np.uint16) + ir) // 2).astype(np.uint8)
    keys = ['EN', 'SD', 'SF', 'AG', 'MI', 'SCD', 'CC', 'Qabf', 'SSIM', 'PSNR']
    a = evaluate_fusion(fused, vis, ir, metrics=keys)
    b = evaluate_fusion(fused[::-1, ::-1], vis[::-1, ::-1], ir[::-1, ::-1],
                        metrics=keys)
    for k in a:
        assert b[k] == pytest.approx(a[k], rel=1e-9, abs=1e-12), k


def test_swapping_sources_swaps_per_source_values(tno_pair):
    vis, ir = tno_pair
    fused = np.maximum(vis, ir)
    a = evaluate_fusion(fused, vis, ir)
    b = evaluate_fusion(fused, ir, vis)
    for m in ('MI', 'SCD', 'CC', 'VIF', 'Qabf', 'SSIM', 'MS_SSIM', 'PSNR'):
        assert b[m] == pytest.approx(a[m], rel=1e-9), m
        assert b[f'{m}_V'] == pytest.approx(a[f'{m}_I'], rel=1e-9), m


def test_conventions_relate_as_documented(tno_pair):
    vis, ir = tno_pair
    fused = ((vis.astype(np.uint16) + ir) // 2).astype(np.uint8)
    std = evaluate_fusion(fused, vis, ir)
    mean = evaluate_fusion(fused, vis, ir, convention='mean')
    tot = evaluate_fusion(fused, vis, ir, convention='sum')
    for m in ('MI', 'SCD', 'CC', 'VIF', 'Qabf', 'SSIM', 'MS_SSIM', 'PSNR'):
        assert mean[m] == pytest.approx((std[f'{m}_V'] + std[f'{m}_I']) / 2)
        assert tot[m] == pytest.approx(std[f'{m}_V'] + std[f'{m}_I'])
    for m in ('MI', 'SCD', 'VIF', 'SSIM'):
        assert std[m] == pytest.approx(tot[m])
    for m in ('CC', 'MS_SSIM'):
        assert std[m] == pytest.approx(mean[m])
    assert std['EN'] == mean['EN'] == tot['EN']
    # PSNR of the averaged MSE lies between the per-source PSNRs.
    assert min(std['PSNR_V'], std['PSNR_I']) <= std['PSNR'] <= max(
        std['PSNR_V'], std['PSNR_I'])
    assert list(std) == list(output_keys(ALL_METRICS))


# ------------------------------------------------- constant / black / errors
def test_constant_images_give_defined_values():
    c = np.full((64, 64), 90, np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # 64x64: MS-SSIM uses 3 scales
        out = evaluate_fusion(c, c, c)
    assert all(not math.isnan(v) for v in out.values())
    for m in ('EN', 'SD', 'SF', 'AG', 'MI', 'SCD', 'CC', 'VIF'):
        assert out[m] == 0.0, m
    # Zero-padded Sobel (MATLAB conv2 'same') sees the frame of a constant
    # image as an edge; F = A = B there, so Qabf is the sigmoids' maximum.
    assert out['Qabf'] == pytest.approx(qabf(*[_textured_like(c)] * 3))
    black = np.zeros((64, 64), np.uint8)
    assert qabf(black, black, black) == 0.0  # no gradient anywhere: 0/0 -> 0
    assert out['SSIM_V'] == pytest.approx(1.0)
    assert out['MS_SSIM'] == pytest.approx(1.0)
    assert out['PSNR'] == math.inf


def test_all_black_fused_image_scores_low_but_finite(tno_pair):
    vis, ir = tno_pair
    black = np.zeros_like(vis)
    out = evaluate_fusion(black, vis, ir)
    assert all(math.isfinite(v) for v in out.values())
    assert out['EN'] == 0 and out['MI'] == 0 and out['CC'] == 0
    assert out['Qabf'] < 1e-3
    assert out['VIF'] < 1e-3
    good = evaluate_fusion(np.maximum(vis, ir), vis, ir)
    for m in PAPER_METRICS:
        assert good[m] > out[m], m


def test_size_mismatch_raises_naming_the_files(tno_pair):
    vis, ir = tno_pair
    with pytest.raises(ValueError, match=r'fused/07\.png.*vi/07\.png'):
        evaluate_fusion(np.zeros((270, 360), np.uint8), vis, ir,
                        names=['fused/07.png', 'vi/07.png', 'ir/07.png'])
    with pytest.raises(ValueError, match='ir/07.png'):
        evaluate_fusion(vis, vis, ir[:-1],
                        names=['fused/07.png', 'vi/07.png', 'ir/07.png'])


def test_bad_inputs_raise_precise_errors(tno_pair):
    vis, ir = tno_pair
    with pytest.raises(TypeError, match='uint8'):
        evaluate_fusion(vis.astype(np.float32), vis, ir)
    with pytest.raises(ValueError, match='unknown fusion metric'):
        evaluate_fusion(vis, vis, ir, metrics=['EN', 'NIQE'])
    with pytest.raises(ValueError, match='convention'):
        evaluate_fusion(vis, vis, ir, convention='median')
    with pytest.raises(ValueError, match='smaller than'):
        ssim_index(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8))


def test_rgb_input_uses_matlab_rgb2gray_weights():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]],
                   np.uint8)
    # MATLAB: rgb2gray(uint8([255 0 0])) = 76, [0 255 0] -> 150, [0 0 255]
    # -> 29; [10 20 30] -> round(18.1585...) = 18.
    assert to_gray_uint8(rgb).tolist() == [[76, 150, 29, 18]]
    grey3 = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, 2)
    assert to_gray_uint8(grey3).tolist() == [list(range(256))]


# ------------------------------------------------ real published fusions
def test_published_fusions_on_tno_score_in_published_ranges(
        tno42, tno42_fusions, read_grey):
    """DenseFuse and FusionGAN on TNO pairs 01-03: values in the ranges the
    fusion literature reports for TNO, and FusionGAN's known weakness (blurred
    edges: lowest Qabf and VIF of the published methods) is reproduced."""
    for stem in ('01', '02', '03'):
        vis = read_grey(tno42 / 'vi' / f'{stem}.png')
        ir = read_grey(tno42 / 'ir' / f'{stem}.png')
        dense = evaluate_fusion(
            read_grey(tno42_fusions / 'DenseFuse' / f'{stem}.png'), vis, ir)
        gan = evaluate_fusion(
            read_grey(tno42_fusions / 'FusionGAN' / f'{stem}.png'), vis, ir)
        assert 6.0 < dense['EN'] < 7.5
        assert 1.0 < dense['MI'] < 4.0
        assert 1.3 < dense['SCD'] < 2.0
        assert 0.3 < dense['VIF'] < 1.0
        assert 0.3 < dense['Qabf'] < 0.7
        assert 0.5 < dense['MS_SSIM'] < 1.0
        assert gan['Qabf'] < dense['Qabf'] - 0.1
        assert gan['VIF'] < dense['VIF']
