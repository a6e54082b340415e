"""Tests of msfam_mm.models.losses (MSFAM Eqs. 1, 2, 8; Algorithms 1-2).

Reference values come from independent float64 numpy/scipy implementations
written here (2-D correlation with the full Gaussian kernel, not the
separable torch path), and from real TNO pairs via the ``tno42`` fixture."""
import math

import cv2
import numpy as np
import pytest
import torch
from scipy.signal import correlate2d

from msfam_mm.models.losses import (FusionLoss, MSSSIMLoss, PullPushLoss,
                                    ReconstructionLoss, SSIMLoss,
                                    edge_preservation, fusion_l1_loss, ms_ssim,
                                    pull_push_loss, pull_push_weights,
                                    reconstruction_loss, sobel_gradients, ssim)
from msfam_mm.models.losses.pull_push_loss import (GAMMA_A, GAMMA_G,
                                                   edge_strength_orientation,
                                                   relative_orientation)
from msfam_mm.models.losses.ssim import MS_SSIM_WEIGHTS, ms_ssim_num_scales


# --------------------------------------------------------------------------
# independent float64 references
# --------------------------------------------------------------------------
def _np_gauss2d(size=11, sigma=1.5):
    c = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-c ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    return np.outer(g, g)


def _np_ssim_maps(x, y, padding='valid', data_range=1.0):
    k = _np_gauss2d()
    r = k.shape[0] // 2

    def filt(img):
        if padding == 'reflect':
            img = np.pad(img, r, mode='reflect')
        return correlate2d(img, k, mode='valid')

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = filt(x), filt(y)
    vx = filt(x * x) - mx ** 2
    vy = filt(y * y) - my ** 2
    cxy = filt(x * y) - mx * my
    cs = (2 * cxy + c2) / (vx + vy + c2)
    lum = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
    return lum * cs, cs


def _np_ssim(x, y, padding='valid'):
    return _np_ssim_maps(x, y, padding)[0].mean()


def _np_ms_ssim(x, y):
    n = 0
    side = min(x.shape)
    while n < 5 and side >= 11:
        n, side = n + 1, side // 2
    w = np.array(MS_SSIM_WEIGHTS[:n])
    w = w / w.sum()
    terms = []
    for j in range(n):
        s, cs = _np_ssim_maps(x, y)
        if j < n - 1:
            terms.append(cs.mean())
            h, wd = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
            x = x[:h, :wd].reshape(h // 2, 2, wd // 2, 2).mean((1, 3))
            y = y[:h, :wd].reshape(h // 2, 2, wd // 2, 2).mean((1, 3))
        else:
            terms.append(s.mean())
    return float(np.prod(np.maximum(terms, 1e-6) ** w))


def _t(a):
    """float64 numpy (H, W) -> float32 torch (1, 1, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(a)).float()[None, None]


def _load_grey(path):
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None, f'cannot read {path}'
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float64) / 255


def _smooth_random(h, w, seed, scale=4):
    """Smooth random texture in [0, 1] (natural-image-like correlation)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 1, h // scale + 2, w // scale + 2, generator=g)
    up = torch.nn.functional.interpolate(low, size=(h, w), mode='bicubic',
                                         align_corners=False)
    return up.clamp(0, 1)


def _image(kind, h, w, seed=0):
    if kind == 'black':
        return torch.zeros(1, 1, h, w)
    if kind == 'saturated':
        return torch.ones(1, 1, h, w)
    if kind == 'constant':
        return torch.full((1, 1, h, w), 0.37)
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 1, h, w, generator=g)


@pytest.fixture(scope='module')
def tno_pair(tno42):
    """TNO pair 10 (480 x 640), centre crop 256 x 320 (the training size)."""
    vis = _load_grey(tno42 / 'vi' / '10.png')[100:356, 100:420]
    ir = _load_grey(tno42 / 'ir' / '10.png')[100:356, 100:420]
    return vis, ir


# --------------------------------------------------------------------------
# SSIM / MS-SSIM
# --------------------------------------------------------------------------
@pytest.mark.parametrize('shape', [(64, 64), (37, 53), (256, 320), (11, 11)])
@pytest.mark.parametrize('padding', ['valid', 'reflect'])
def test_ssim_of_identical_images_is_exactly_one(shape, padding):
    x = torch.rand(3, 1, *shape)
    assert torch.equal(ssim(x, x, padding=padding, reduction='none'),
                       torch.ones(3))
    assert ms_ssim(x, x, padding=padding).item() == 1.0
    assert SSIMLoss(padding=padding)(x, x).item() == 0.0
    assert MSSSIMLoss(padding=padding)(x, x).item() == 0.0


def test_ssim_decreases_with_noise():
    x = _smooth_random(96, 96, seed=1)
    g = torch.Generator().manual_seed(2)
    noise = torch.randn(x.shape, generator=g)
    levels = [0.0, 0.02, 0.05, 0.1, 0.2]
    s = [ssim(x, (x + k * noise).clamp(0, 1)).item() for k in levels]
    ms = [ms_ssim(x, (x + k * noise).clamp(0, 1)).item() for k in levels]
    assert s[0] == 1.0 and ms[0] == 1.0
    assert all(a > b for a, b in zip(s, s[1:])), s
    assert all(a > b for a, b in zip(ms, ms[1:])), ms
    assert s[-1] < 0.7


@pytest.mark.parametrize('padding', ['valid', 'reflect'])
def test_ssim_matches_numpy_reference(padding):
    rng = np.random.default_rng(0)
    x = rng.random((45, 60))
    y = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1)
    ref = _np_ssim(x, y, padding)
    got = ssim(_t(x), _t(y), padding=padding).item()
    assert got == pytest.approx(ref, abs=2e-5)


def test_ssim_and_ms_ssim_match_reference_on_tno(tno_pair):
    vis, ir = tno_pair
    avg = 0.5 * (vis + ir)
    for src in (vis, ir):
        assert ssim(_t(src), _t(avg)).item() == pytest.approx(
            _np_ssim(src, avg), abs=2e-5)
    assert ms_ssim(_t(ir), _t(avg)).item() == pytest.approx(
        _np_ms_ssim(ir, avg), abs=2e-5)
    # The average fusion is more similar to either source than they are to
    # each other.
    assert ssim(_t(vis), _t(avg)).item() > ssim(_t(vis), _t(ir)).item()


def test_ms_ssim_scale_count_and_small_images():
    assert ms_ssim_num_scales(256, 320) == 5
    assert ms_ssim_num_scales(64, 64) == 3
    assert ms_ssim_num_scales(37, 53) == 2
    assert ms_ssim_num_scales(16, 16) == 1
    assert ms_ssim_num_scales(8, 8) == 1
    rng = np.random.default_rng(3)
    for shape in [(64, 64), (37, 53)]:
        x = rng.random(shape)
        y = np.clip(x + 0.1 * rng.standard_normal(shape), 0, 1)
        assert ms_ssim(_t(x), _t(y)).item() == pytest.approx(
            _np_ms_ssim(x, y), abs=2e-5)
    # A single scale is plain SSIM.
    x = torch.rand(2, 1, 16, 16)
    y = (x + 0.1 * torch.randn(x.shape)).clamp(0, 1)
    assert torch.allclose(ms_ssim(x, y, reduction='none'),
                          ssim(x, y, reduction='none'))
    # Smaller than the window: valid refuses, reflect works.
    tiny = torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match='smaller than the 11x11 window'):
        ms_ssim(tiny, tiny)
    assert ms_ssim(tiny, tiny, padding='reflect').item() == 1.0


def test_ms_ssim_gradient_finite_with_negative_contrast_structure():
    x = _smooth_random(64, 64, seed=4)
    y = (1 - x).requires_grad_(True)  # anti-correlated: cs < 0 at all scales
    value = ms_ssim(x, y)
    assert torch.isfinite(value) and 0 <= value.item() < 1e-3
    value.backward()
    assert torch.isfinite(y.grad).all()
    for a, b in [(torch.zeros(1, 1, 64, 64), torch.ones(1, 1, 64, 64)),
                 (torch.zeros(1, 1, 64, 64), torch.zeros(1, 1, 64, 64))]:
        b = b.clone().requires_grad_(True)
        v = ms_ssim(a, b)
        v.backward()
        assert torch.isfinite(v) and torch.isfinite(b.grad).all()


def test_ms_ssim_shift_terms_definition():
    """terms='shift' maps each term t to (t + 1) / 2: identical images still
    give exactly 1, one scale gives (SSIM + 1) / 2, and it is never below
    the clamped definition (each base is larger)."""
    x = _smooth_random(64, 64, seed=21)
    y = _smooth_random(64, 64, seed=22)
    assert ms_ssim(x, x, terms='shift').item() == 1.0
    one = ms_ssim(x, y, weights=(1.0, ), terms='shift').item()
    assert one == pytest.approx((ssim(x, y).item() + 1) / 2, rel=1e-6)
    for b in (y, 1 - x, 0.5 * (x + y)):
        assert ms_ssim(x, b, terms='shift').item() >= \
            ms_ssim(x, b).item() - 1e-7
    with pytest.raises(ValueError, match='`terms` must be one of'):
        ms_ssim(x, y, terms='relu')
    with pytest.raises(ValueError, match='`terms` must be one of'):
        MSSSIMLoss(terms='relu')
    assert MSSSIMLoss(terms='shift')(x, x).item() == 0.0


def test_ms_ssim_shift_keeps_the_gradient_of_an_anticorrelated_source(
        tno42):
    """TNO pair 05 (280 x 280): visible and infrared are anti-correlated at
    the two coarsest scales. For a fused image equal to the infrared one,
    Wang's clamped MS-SSIM with the visible image is ~0 and its gradient
    nearly vanishes (the clamped scales pass none and shrink the others' by
    eps ** 0.37); the shifted terms keep a gradient 35 times larger
    (measured), and a small step along it raises the similarity to the
    visible image."""
    vis = _t(_load_grey(tno42 / 'vi' / '05.png'))
    ir = _t(_load_grey(tno42 / 'ir' / '05.png'))
    grads = {}
    for terms in ('clamp', 'shift'):
        fused = ir.clone().requires_grad_(True)
        loss = 1 - ms_ssim(vis, fused, padding='reflect', terms=terms)
        loss.backward()
        grads[terms] = fused.grad
    assert ms_ssim(vis, ir, padding='reflect').item() < 0.01
    g = grads['shift']
    assert g.abs().mean().item() > 20 * grads['clamp'].abs().mean().item()
    stepped = ir - 0.05 * g / g.abs().max()
    for terms in ('clamp', 'shift'):
        assert ms_ssim(vis, stepped, padding='reflect', terms=terms).item() \
            > ms_ssim(vis, ir, padding='reflect', terms=terms).item()
    # the same through the Pull-Push loss (Algorithm 2): at F = I the
    # infrared term is at its optimum, so only the visible one pulls
    pulls = {}
    for terms in ('clamp', 'shift'):
        fused = ir.clone().requires_grad_(True)
        pull_push_loss(vis, ir, fused, padding='reflect',
                       ms_ssim_terms=terms).backward()
        pulls[terms] = fused.grad.abs().mean().item()
    assert pulls['shift'] > 20 * pulls['clamp']
    assert PullPushLoss(ms_ssim_terms='shift').ms_ssim_terms == 'shift'
    with pytest.raises(ValueError, match='`ms_ssim_terms` must be one of'):
        PullPushLoss(ms_ssim_terms='relu')


def test_ssim_input_checks():
    x = torch.rand(1, 1, 32, 32)
    with pytest.raises(ValueError, match=r'ssim: `x` must have shape'):
        ssim(x[0], x[0])
    with pytest.raises(TypeError, match=r'ssim: `y` must be a floating'):
        ssim(x, (x * 255).to(torch.uint8))
    with pytest.raises(ValueError, match='same shape'):
        ssim(x, torch.rand(1, 1, 32, 31))
    with pytest.raises(ValueError, match='window_size'):
        ssim(x, x, window_size=10)
    with pytest.raises(ValueError, match='reduction'):
        ssim(x, x, reduction='avg')
    with pytest.raises(ValueError, match='padding'):
        SSIMLoss(padding='zeros')


def test_ssim_reductions_and_half_precision():
    x, y = torch.rand(3, 1, 32, 32), torch.rand(3, 1, 32, 32)
    per_image = ssim(x, y, reduction='none')
    assert per_image.shape == (3,)
    assert ssim(x, y).item() == pytest.approx(per_image.mean().item())
    assert ssim(x, y, reduction='sum').item() == pytest.approx(
        per_image.sum().item(), rel=1e-6)
    assert SSIMLoss(reduction='sum')(x, y).item() == pytest.approx(
        (1 - per_image).sum().item(), rel=1e-6)
    half = ssim(x.half(), y.half(), reduction='none')
    assert torch.allclose(half, per_image, atol=2e-3)


# --------------------------------------------------------------------------
# Eq. 1 reconstruction loss
# --------------------------------------------------------------------------
def test_reconstruction_loss_eq1_value():
    rng = np.random.default_rng(5)
    target = 0.2 + 0.6 * rng.random((40, 50))
    output = target + 0.1  # L1 = 0.1 exactly
    expected = 0.1 + 0.84 * (1 - _np_ssim(target, output))
    got = ReconstructionLoss()(_t(target), _t(output)).item()
    assert got == pytest.approx(expected, abs=1e-5)
    assert reconstruction_loss(_t(target), _t(output),
                               alpha=0.0).item() == pytest.approx(0.1, 1e-5)
    x = torch.rand(2, 1, 32, 32)
    assert ReconstructionLoss()(x, x).item() == 0.0
    with pytest.raises(ValueError, match='alpha'):
        ReconstructionLoss(alpha=-1.0)


# --------------------------------------------------------------------------
# Algorithm 1: Sobel, strength/orientation, edge preservation
# --------------------------------------------------------------------------
def test_sobel_and_orientation():
    ramp_x = torch.arange(6.).repeat(6, 1).view(1, 1, 6, 6)
    sx, sy = sobel_gradients(ramp_x)
    assert sx[0, 0, 2, 2].item() == 8.0 and sy[0, 0, 2, 2].item() == 0.0
    sx, sy = sobel_gradients(ramp_x.transpose(-1, -2))
    assert sx[0, 0, 2, 2].item() == 0.0 and sy[0, 0, 2, 2].item() == 8.0
    # Constant image: exactly zero gradient, also on the border.
    sx, sy = sobel_gradients(torch.full((1, 1, 7, 9), 0.6))
    assert sx.abs().max().item() == 0 and sy.abs().max().item() == 0

    sx = torch.tensor([1.0, 0.0, 0.0, 1.0, -1.0, 0.0], requires_grad=True)
    sy = torch.tensor([0.0, 1.0, -1.0, 1.0, 1.0, 0.0], requires_grad=True)
    g, alpha = edge_strength_orientation(sx, sy)
    expected = [0.0, math.pi / 2, math.pi / 2, math.pi / 4, -math.pi / 4,
                math.pi / 2]  # sx = 0 -> pi/2 (also on the flat pixel)
    assert torch.allclose(alpha, torch.tensor(expected), atol=1e-6)
    assert g[-1].item() == pytest.approx(1e-6)
    (g.sum() + alpha.sum()).backward()
    assert torch.isfinite(sx.grad).all() and torch.isfinite(sy.grad).all()


def test_relative_orientation_variants():
    a = torch.tensor([0.0, 0.0, math.pi / 2 - 1e-3])
    b = torch.tensor([0.0, math.pi / 2, -math.pi / 2 + 1e-3])
    xydeas = relative_orientation(a, b, 'xydeas')
    assert torch.allclose(xydeas, torch.tensor([1.0, 0.0, -1.0]), atol=2e-3)
    printed = relative_orientation(a, b, 'as_printed')
    assert torch.allclose(printed, -xydeas)
    periodic = relative_orientation(a, b, 'periodic')
    assert torch.allclose(periodic, torch.tensor([1.0, 0.0, 1.0]), atol=2e-3)


def test_edge_preservation_of_identical_images():
    x = _smooth_random(32, 40, seed=6)
    q, w = edge_preservation(x, x)
    q_max = GAMMA_G / (1 + math.exp(-15 * 0.5)) * GAMMA_A / (
        1 + math.exp(-22 * 0.2))
    assert torch.allclose(q, torch.full_like(q, q_max), atol=1e-6)
    g, _ = edge_strength_orientation(*sobel_gradients(x))
    assert torch.equal(w, g)
    # The formula as printed rates identical orientations worst: Q ~ 0.
    q_printed, _ = edge_preservation(x, x, orientation='as_printed')
    assert q_printed.max().item() < 1e-7


_NP_SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)


def _np_edge_parts(src, fused, padding):
    """Float64 Xydeas-Petrovic Q^{aF} with weights: (sum Q w, sum w)."""
    def sobel(img):
        img = np.pad(img, 1, mode='edge' if padding == 'replicate'
                     else 'constant')
        sx = correlate2d(img, _NP_SOBEL_X, mode='valid')
        sy = correlate2d(img, _NP_SOBEL_X.T, mode='valid')
        safe = np.where(sx == 0, 1.0, sx)
        return np.hypot(sx, sy), np.where(sx == 0, np.pi / 2,
                                          np.arctan(sy / safe))

    g_a, a_a = sobel(src)
    g_f, a_f = sobel(fused)
    hi, lo = np.maximum(g_a, g_f), np.minimum(g_a, g_f)
    ratio = np.divide(lo, hi, out=np.ones_like(hi), where=hi > 0)
    orient = 1 - np.abs(a_a - a_f) / (np.pi / 2)
    q = (0.9994 / (1 + np.exp(-15 * (ratio - 0.5)))
         * 0.9879 / (1 + np.exp(-22 * (orient - 0.8))))
    return (q * g_a).sum(), g_a.sum()


@pytest.mark.parametrize('sobel_padding', ['replicate', 'zeros'])
def test_edge_preservation_matches_numpy_qabf_on_published_fusion(
        tno42, tno42_fusions, sobel_padding):
    vis = _load_grey(tno42 / 'vi' / '05.png')
    ir = _load_grey(tno42 / 'ir' / '05.png')
    fused = _load_grey(tno42_fusions / 'DenseFuse' / '05.png')
    # The reference runs on the 0-255 integers, where Sobel responses are
    # exact (a flat pixel has sx == 0 exactly, as in the MATLAB code);
    # Q^{AB/F} is invariant to the intensity scale.
    n_v, d_v = _np_edge_parts(np.round(vis * 255), np.round(fused * 255),
                              sobel_padding)
    n_i, d_i = _np_edge_parts(np.round(ir * 255), np.round(fused * 255),
                              sobel_padding)
    as_t = (lambda a: torch.from_numpy(a)[None, None])  # keep float64
    w = pull_push_weights(as_t(vis), as_t(ir), as_t(fused),
                          sobel_padding=sobel_padding)
    assert w['q_vis'].item() == pytest.approx(n_v / (d_v + d_i), abs=1e-5)
    assert w['q_ir'].item() == pytest.approx(n_i / (d_v + d_i), abs=1e-5)
    # DenseFuse keeps more visible than infrared edge information here.
    assert w['q_vis'].item() > w['q_ir'].item()


# --------------------------------------------------------------------------
# Algorithm 2: Pull-Push loss
# --------------------------------------------------------------------------
KINDS = ['black', 'constant', 'saturated', 'random']


@pytest.mark.parametrize('shape', [(64, 64), (37, 53)])
@pytest.mark.parametrize('fused_kind', KINDS)
@pytest.mark.parametrize('sources', ['same', 'random'])
@pytest.mark.parametrize('detach', [True, False])
def test_pull_push_finite_values_and_gradients(shape, fused_kind, sources,
                                               detach):
    fused = _image(fused_kind, *shape, seed=7).requires_grad_(True)
    if sources == 'same':
        vis = _image(fused_kind, *shape, seed=8)
        ir = _image(fused_kind, *shape, seed=9)
    else:
        vis, ir = _image('random', *shape, 8), _image('random', *shape, 9)
    loss = PullPushLoss(detach_weights=detach)
    value = loss(vis, ir, fused)
    assert torch.isfinite(value), value
    assert 0 <= value.item() <= 2
    value.backward()
    assert torch.isfinite(fused.grad).all()
    w = loss.weights(vis, ir, fused)
    for key in ('q_vis', 'q_ir', 'alpha_vis', 'alpha_ir'):
        assert torch.isfinite(w[key]).all(), key


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_pull_push_half_precision_is_finite(dtype):
    # Pixels flat in both vis and fused: eps^2 = 1e-12 underflows in half
    # precision, so without upcasting G would be 0/0 there.
    vis = torch.zeros(1, 1, 32, 32, dtype=dtype)
    ir = _smooth_random(32, 32, seed=20).to(dtype)
    fused = ir.clone()
    fused[..., :16] = 0
    fused.requires_grad_(True)
    value = pull_push_loss(vis, ir, fused, detach_weights=False)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(fused.grad).all()


def test_pull_push_weights_constructed_case():
    vis = _smooth_random(48, 48, seed=10)
    ir = _smooth_random(48, 48, seed=11, scale=8)
    w = pull_push_weights(vis, ir, vis)  # F = V
    g_vis, _ = edge_strength_orientation(*sobel_gradients(vis))
    g_ir, _ = edge_strength_orientation(*sobel_gradients(ir))
    q_max = edge_preservation(vis, vis)[0][0, 0, 0, 0]
    expected_q_vis = q_max * g_vis.sum() / (g_vis + g_ir).sum()
    assert w['q_vis'].item() == pytest.approx(expected_q_vis.item(), 1e-5)
    assert w['q_vis'].item() > 3 * w['q_ir'].item()
    r = torch.stack([w['q_vis'], w['q_ir']], 1)
    r = r / r.sum(1, keepdim=True)
    expected_alpha = torch.softmax(r, dim=1)
    assert w['alpha_vis'].item() == pytest.approx(
        expected_alpha[0, 0].item(), 1e-5)
    assert w['alpha_vis'].item() > w['alpha_ir'].item()
    # The softmax of two shares in [0, 1] keeps each weight in
    # [1/(1+e), e/(1+e)] = [0.269, 0.731].
    assert 0.5 < w['alpha_vis'].item() <= math.e / (1 + math.e) + 1e-6
    assert w['alpha_vis'].item() + w['alpha_ir'].item() == pytest.approx(1)
    swapped = pull_push_weights(vis, ir, vis, direction='as_described')
    assert swapped['alpha_vis'].item() == pytest.approx(w['alpha_ir'].item())
    # F = I mirrors it.
    w_ir = pull_push_weights(vis, ir, ir)
    assert w_ir['alpha_ir'].item() > w_ir['alpha_vis'].item()


def test_pull_push_loss_value_and_detach():
    vis = _smooth_random(64, 64, seed=12)
    ir = _smooth_random(64, 64, seed=13)
    fused = (0.7 * vis + 0.3 * ir).requires_grad_(True)
    w = pull_push_weights(vis, ir, fused.detach())
    expected = (w['alpha_vis'] * (1 - ms_ssim(vis, fused.detach()))
                + w['alpha_ir'] * (1 - ms_ssim(ir, fused.detach())))
    value = pull_push_loss(vis, ir, fused)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    # Detached weights: the gradient is that of the fixed-weight sum.
    value.backward()
    grad_detached = fused.grad.clone()
    fused.grad = None
    manual = (w['alpha_vis'] * (1 - ms_ssim(vis, fused))
              + w['alpha_ir'] * (1 - ms_ssim(ir, fused))).sum()
    manual.backward()
    assert torch.allclose(grad_detached, fused.grad, atol=1e-7)
    # Non-detached weights add the gradient through Algorithm 1.
    fused.grad = None
    pull_push_loss(vis, ir, fused, detach_weights=False).backward()
    assert torch.isfinite(fused.grad).all()
    assert not torch.allclose(grad_detached, fused.grad, atol=1e-7)


def test_pull_push_options_are_keyword_only():
    """Fourteen parameters in a row invite a swapped argument: after the
    images, every option must be named."""
    vis, ir = _smooth_random(64, 64, seed=1), _smooth_random(64, 64, seed=2)
    fused = 0.5 * (vis + ir)
    with pytest.raises(TypeError, match='positional'):
        pull_push_loss(vis, ir, fused, False)
    with pytest.raises(TypeError, match='positional'):
        pull_push_weights(vis, ir, fused, 'xydeas')
    with pytest.raises(TypeError, match='positional'):
        edge_preservation(vis, fused, 'xydeas')
    with pytest.raises(TypeError, match='positional'):
        PullPushLoss(False)
    assert pull_push_loss(vis, ir, fused, detach_weights=False).item() == \
        pytest.approx(PullPushLoss(detach_weights=False)(vis, ir, fused)
                      .item())


def _one_step(vis, ir, start, direction, lr):
    fused = start.clone().requires_grad_(True)
    pull_push_loss(vis, ir, fused, direction=direction).backward()
    with torch.no_grad():
        moved = fused - lr * fused.numel() * fused.grad
    return ms_ssim(vis, moved).item(), ms_ssim(ir, moved).item()


def _check_direction(vis, ir):
    """F closer to V: the written equations weight the visible term more,
    so a gradient step pulls F further toward V (opposite of the text)."""
    start = 0.8 * vis + 0.2 * ir
    w = pull_push_weights(vis, ir, start)
    assert w['alpha_vis'].item() > w['alpha_ir'].item()
    v_written, i_written = _one_step(vis, ir, start, 'as_written', 1e-3)
    v_described, i_described = _one_step(vis, ir, start, 'as_described', 1e-3)
    assert v_written > v_described
    assert i_written < i_described
    return w, (v_written, i_written), (v_described, i_described)


def test_pull_push_direction_synthetic():
    vis = _smooth_random(64, 64, seed=14)
    ir = _smooth_random(64, 64, seed=15, scale=8)
    _check_direction(vis, ir)


def test_pull_push_direction_on_tno(tno_pair):
    vis, ir = (_t(a) for a in tno_pair)
    w, written, described = _check_direction(vis, ir)
    # Values recorded in docs/losses.md (TNO pair 10, 256 x 320 crop).
    assert w['alpha_vis'].item() == pytest.approx(0.699, abs=2e-3)
    # The average fusion is balanced: both weights near 1/2.
    avg = pull_push_weights(vis, ir, 0.5 * (vis + ir))
    assert abs(avg['alpha_vis'].item() - 0.5) < 0.1


# --------------------------------------------------------------------------
# Eq. 2 fusion loss
# --------------------------------------------------------------------------
def test_fusion_loss_terms_and_weights():
    vis = _smooth_random(64, 64, seed=16).repeat(2, 1, 1, 1)
    ir = _smooth_random(64, 64, seed=17).repeat(2, 1, 1, 1)
    fused = (0.5 * (vis + ir)).requires_grad_(True)
    probs = torch.tensor([[0.9, 0.7], [0.6, 0.8]])
    terms = FusionLoss()(vis, ir, fused, probs)
    assert set(terms) == {'loss_l1', 'loss_constraint', 'loss_pull_push'}
    l1 = 0.5 * ((fused - vis).abs().mean() + (fused - ir).abs().mean())
    assert terms['loss_l1'].item() == pytest.approx(l1.item(), rel=1e-6)
    assert terms['loss_constraint'].item() == pytest.approx(
        0.84 * -torch.log(probs).sum(1).mean().item(), rel=1e-6)
    assert terms['loss_pull_push'].item() == pytest.approx(
        2 * pull_push_loss(vis, ir, fused).item(), rel=1e-6)
    sum(terms.values()).backward()
    assert torch.isfinite(fused.grad).all() and fused.grad.abs().sum() > 0

    custom = FusionLoss(l1_weight=0.5, constraint_weight=1.0,
                        pull_push_weight=3.0, l1_mode='max')(vis, ir, fused,
                                                             probs)
    assert custom['loss_l1'].item() == pytest.approx(
        0.5 * fusion_l1_loss(vis, ir, fused, 'max').item(), rel=1e-6)
    assert custom['loss_pull_push'].item() == pytest.approx(
        1.5 * terms['loss_pull_push'].item(), rel=1e-6)


def test_fusion_loss_zero_weights_switch_terms_off():
    vis, ir = torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32)
    fused = 0.5 * (vis + ir)
    no_constraint = FusionLoss(constraint_weight=0)(vis, ir, fused, None)
    assert set(no_constraint) == {'loss_l1', 'loss_pull_push'}
    baseline = FusionLoss(constraint_weight=0, pull_push_weight=0)(
        vis, ir, fused)
    assert set(baseline) == {'loss_l1'}
    with pytest.raises(ValueError, match='`probs`'):
        FusionLoss()(vis, ir, fused, None)
    with pytest.raises(ValueError, match='pull_push_weight'):
        FusionLoss(pull_push_weight=-1)
    logits = FusionLoss(from_logits=True)(vis, ir, fused,
                                          torch.tensor([[3.0, 3.0]]))
    assert logits['loss_constraint'].item() == pytest.approx(
        0.84 * 2 * math.log1p(math.exp(-3.0)), rel=1e-5)


def test_fusion_l1_modes():
    vis, ir = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    assert fusion_l1_loss(vis, ir, vis).item() == 0.5
    assert fusion_l1_loss(vis, ir, vis, mode='max').item() == 1.0
    assert fusion_l1_loss(vis, ir, ir, mode='max').item() == 0.0
    with pytest.raises(ValueError, match='mode'):
        fusion_l1_loss(vis, ir, ir, mode='min')


def test_losses_are_registered_and_buildable():
    from msfam_mm.registry import MODELS
    for name in ['SSIMLoss', 'MSSSIMLoss', 'ReconstructionLoss',
                 'SemanticConstraintLoss', 'PullPushLoss', 'FusionLoss']:
        assert MODELS.get(name) is not None, name
    loss = MODELS.build(dict(type='FusionLoss', constraint_weight=0,
                             pull_push=dict(direction='as_described')))
    assert isinstance(loss, FusionLoss)
    assert loss.pull_push.direction == 'as_described'


def test_pull_push_equal_direction_is_plain_two_source_ms_ssim(tno_pair):
    """direction='equal' (the Table 3 ablation without Pull-Push) keeps the
    MS-SSIM term with fixed weights 0.5, whatever the fused image is."""
    vis, ir = (_t(a) for a in tno_pair)
    for fused in (0.8 * vis + 0.2 * ir, 0.2 * vis + 0.8 * ir):
        w = pull_push_weights(vis, ir, fused, direction='equal')
        assert w['alpha_vis'].item() == w['alpha_ir'].item() == 0.5
        expected = 0.5 * ((1 - ms_ssim(vis, fused)) + (1 - ms_ssim(ir, fused)))
        got = pull_push_loss(vis, ir, fused, direction='equal')
        assert got.item() == pytest.approx(expected.item(), rel=1e-6)
        # the adaptive weights of Algorithm 2 give another value
        assert pull_push_loss(vis, ir, fused).item() != pytest.approx(
            got.item(), rel=1e-3)
