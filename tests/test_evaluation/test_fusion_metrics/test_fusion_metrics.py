"""Tests of msfam_mm.evaluation.fusion_metrics (issue 3).

Closed-form cases, invariances, constant/black images, input checks,
comparisons with independent straightforward formulations, the registered
``FusionMetric`` and real TNO pairs with published fusions.
"""
import math
import warnings

import cv2
import numpy as np
import pytest
import torch
from scipy.signal import correlate2d

from msfam_mm.evaluation.fusion_metrics import (
    ALL_METRICS, FusionMetric, PAPER_METRICS, average_gradient, corr2,
    entropy, evaluate_fusion, ms_ssim_index,
    mutual_information, output_keys, psnr, qabf, scd, spatial_frequency,
    ssim_index, standard_deviation, to_gray_uint8, vif_p)
import msfam_mm.evaluation.fusion_metrics.ssim as ssim_mod
from msfam_mm.evaluation.fusion_metrics.qabf import (GAMMA_A, GAMMA_G,
                                                     KAPPA_A, KAPPA_G,
                                                     SIGMA_A, SIGMA_G)


def _read(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return to_gray_uint8(img, str(path))


@pytest.fixture(scope='module')
def tno_pair(tno42):
    """TNO pair 01 (visible, infrared), grey uint8."""
    return _read(tno42 / 'vi' / '01.png'), _read(tno42 / 'ir' / '01.png')


@pytest.fixture(scope='module')
def textured():
    """A deterministic textured image (smooth blobs plus noise)."""
    rng = np.random.default_rng(1)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (96, 120)), (0, 0), 3)
    base = (base - base.min()) / (base.max() - base.min()) * 200
    noise = rng.normal(0, 10, base.shape)
    return np.clip(base + noise + 20, 0, 255).round().astype(np.uint8)


def _textured_like(img):
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, img.shape, dtype=np.uint8)


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


def test_cc_of_image_with_itself_is_one(tno_pair):
    vis, _ = tno_pair
    out = evaluate_fusion(vis, vis, vis, metrics=['CC'])
    assert out['CC'] == out['CC_V'] == out['CC_I'] == pytest.approx(1.0)
    assert corr2(vis, 255 - vis) == pytest.approx(-1.0)


def test_ssim_and_ms_ssim_of_image_with_itself_are_one(tno_pair):
    vis, ir = tno_pair
    assert ssim_index(vis, vis) == pytest.approx(1.0, abs=1e-12)
    assert ms_ssim_index(ir, ir) == pytest.approx(1.0, abs=1e-12)
    assert ssim_index(vis, ir) < 0.9


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


def test_vif_decreases_with_blur_and_noise(textured):
    x = textured
    blurred = cv2.GaussianBlur(x, (0, 0), 2)
    rng = np.random.default_rng(0)
    noisy = np.clip(x + rng.normal(0, 25, x.shape), 0, 255).astype(np.uint8)
    assert vif_p(x, blurred) < 0.7
    assert vif_p(x, noisy) < 0.7
    assert vif_p(x, cv2.GaussianBlur(x, (0, 0), 4)) < vif_p(x, blurred)


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


def test_entropy_and_mi_invariant_to_grey_level_permutation(tno_pair):
    vis, ir = tno_pair
    perm = np.random.default_rng(3).permutation(256).astype(np.uint8)
    assert entropy(perm[vis]) == pytest.approx(entropy(vis), abs=1e-9)
    assert mutual_information(perm[vis], ir) == pytest.approx(
        mutual_information(vis, ir), abs=1e-9)


def test_cc_invariant_to_affine_grey_changes(textured):
    small = (textured.astype(np.float64) * 0.4).round().astype(np.uint8)
    shifted = (small.astype(np.int32) * 2 + 7).astype(np.uint8)  # <= 211
    other = cv2.GaussianBlur(textured, (0, 0), 2)
    assert corr2(shifted, other) == pytest.approx(corr2(small, other),
                                                  abs=1e-12)
    assert corr2(255 - small, other) == pytest.approx(-corr2(small, other),
                                                      abs=1e-12)


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


def test_small_images_use_fewer_ms_ssim_scales(textured):
    x = textured  # 96x120: only 4 scales hold the 11x11 window
    noisy = np.clip(x.astype(int) + 9 * (np.indices(x.shape).sum(0) % 3 - 1),
                    0, 255).astype(np.uint8)
    ssim_mod._warned_small = False
    with pytest.warns(UserWarning, match='4 scale'):
        value = ms_ssim_index(x, noisy)
    assert 0 < value < 1


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


def test_scd_definition(tno_pair):
    vis, ir = tno_pair
    fused = ((vis.astype(np.uint16) + ir) // 2).astype(np.uint8)
    f, v, i = (x.astype(float) for x in (fused, vis, ir))
    ref = (np.corrcoef((f - i).ravel(), v.ravel())[0, 1]
           + np.corrcoef((f - v).ravel(), i.ravel())[0, 1])
    assert sum(scd(fused, vis, ir)) == pytest.approx(ref, abs=1e-10)


# ------------------------------------------------ real published fusions
def test_published_fusions_on_tno_score_in_published_ranges(tno42,
                                                           tno42_fusions):
    """DenseFuse and FusionGAN on TNO pairs 01-03: values in the ranges the
    fusion literature reports for TNO, and FusionGAN's known weakness (blurred
    edges: lowest Qabf and VIF of the published methods) is reproduced."""
    for stem in ('01', '02', '03'):
        vis = _read(tno42 / 'vi' / f'{stem}.png')
        ir = _read(tno42 / 'ir' / f'{stem}.png')
        dense = evaluate_fusion(_read(tno42_fusions / 'DenseFuse' /
                                      f'{stem}.png'), vis, ir)
        gan = evaluate_fusion(_read(tno42_fusions / 'FusionGAN' /
                                    f'{stem}.png'), vis, ir)
        assert 6.0 < dense['EN'] < 7.5
        assert 1.0 < dense['MI'] < 4.0
        assert 1.3 < dense['SCD'] < 2.0
        assert 0.3 < dense['VIF'] < 1.0
        assert 0.3 < dense['Qabf'] < 0.7
        assert 0.5 < dense['MS_SSIM'] < 1.0
        assert gan['Qabf'] < dense['Qabf'] - 0.1
        assert gan['VIF'] < dense['VIF']


# ------------------------------------------------------------ FusionMetric
def test_fusion_metric_registered_and_computes_paper_metrics(tno_pair):
    from msfam_mm.registry import METRICS
    metric = METRICS.build(dict(type='FusionMetric'))
    assert metric.prefix == 'fusion'
    vis, ir = tno_pair
    v = torch.from_numpy(vis).float()[None] / 255
    i = torch.from_numpy(ir).float()[None] / 255
    # Un-normalised network output: min-max normalisation must undo the
    # affine change exactly, so the scores equal those of the 8-bit image.
    m = np.maximum(vis, ir).astype(np.float64)
    fused8 = np.floor((m - m.min()) / (m.max() - m.min()) * 255 + 0.5)
    fused8 = fused8.astype(np.uint8)
    raw = torch.from_numpy(fused8).double()[None] / 255 * 0.6 - 0.1
    metric.process({}, [dict(fused=raw, vis=v, ir=i, img_path='01.png')])
    metric.process({}, [dict(fused=raw, vis=v, ir=i, img_path='01b.png')])
    out = metric.evaluate(2)
    assert set(out) == {f'fusion/{m}' for m in PAPER_METRICS}
    ref = evaluate_fusion(fused8, vis, ir, metrics=PAPER_METRICS)
    for m in PAPER_METRICS:
        assert out[f'fusion/{m}'] == pytest.approx(ref[m], abs=1e-9), m


def test_fusion_metric_options_and_errors():
    m = FusionMetric(metrics=['en', 'qabf'], convention='mean',
                     per_source=True)
    x = torch.linspace(0, 1, 48 * 40).reshape(1, 48, 40)
    m.process({}, [dict(fused=x * 3 + 1, vis=x, ir=1 - x, name='a')])
    out = m.compute_metrics(m.results)
    assert set(out) == {'EN', 'Qabf', 'Qabf_V', 'Qabf_I'}
    with pytest.raises(KeyError, match='ir'):
        m.process({}, [dict(fused=x, vis=x, name='b')])
    with pytest.raises(ValueError, match='convention'):
        FusionMetric(convention='avg')
    with pytest.raises(ValueError, match='shape'):
        m.process({}, [dict(fused=x[None], vis=x, ir=x)])
    # an image too small for a metric: the error names it
    tiny = x[:, :8, :9]
    with pytest.raises(ValueError, match=r'FusionMetric: data/vi/tiny\.png: '
                                         r'.*11x11 window'):
        FusionMetric(metrics=['ssim']).process(
            {}, [dict(fused=tiny, vis=tiny, ir=tiny,
                      img_path='data/vi/tiny.png')])


def test_fusion_metric_scores_the_bytes_inference_writes():
    """FusionMetric converts the fused output with inference's
    ``to_uint8``: min-max to 0..255, and a constant output is black."""
    from msfam_mm.apis.base_fuser import tensor_to_uint8
    x = torch.linspace(-1, 3, 48 * 40).reshape(1, 48, 40)
    src = torch.linspace(0, 1, 48 * 40).reshape(1, 48, 40)
    m = FusionMetric(metrics=['psnr', 'en'])
    m.process({}, [dict(fused=x, vis=src, ir=src, name='ramp')])
    written = tensor_to_uint8(x[None], 'minmax')[0, 0].numpy()
    src_u8 = np.rint(src[0].numpy() * 255).astype(np.uint8)
    expected = evaluate_fusion(written, src_u8, src_u8, ['psnr', 'en'])
    assert m.results[0] == pytest.approx(
        {k: expected[k] for k in ('PSNR', 'EN')})
    # constant sources at 0.5 -> 128 and a constant fused output -> 0:
    # MSE 128^2, PSNR = 20 log10(255 / 128) = 5.9868 dB (a clipped
    # constant output would equal the sources: PSNR inf)
    half = torch.full((1, 48, 40), 0.5)
    m.process({}, [dict(fused=half, vis=half, ir=half, name='flat')])
    assert m.results[1]['PSNR'] == pytest.approx(20 * math.log10(255 / 128))
