"""SSIM and MS-SSIM as losses (msfam_mm.models.losses.ssim): exact values on
identical images, agreement with an independent float64 reference (random
images and a real TNO crop), MS-SSIM's scales and shift terms, gradients,
input checks and reductions."""
import numpy as np
import pytest
import torch

from msfam_mm.models.losses import (MSSSIMLoss, PullPushLoss, SSIMLoss,
                                    ms_ssim, pull_push_loss, ssim)
from msfam_mm.models.losses.ssim import ms_ssim_num_scales

from loss_references import (_load_grey, _np_ms_ssim, _np_ssim,
                             _smooth_random, _t)


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
