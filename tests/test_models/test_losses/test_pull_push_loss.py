"""The Pull-Push loss (MSFAM Algorithms 1-2, msfam_mm.models.losses.
pull_push_loss): Sobel edge strength and orientation, edge preservation
against a numpy Qabf on a published fusion, pull-push weights, values,
gradients and half precision, and the direction it pulls a fused image."""
import math

import numpy as np
import pytest
import torch
from scipy.signal import correlate2d

from msfam_mm.models.losses import (PullPushLoss, edge_preservation, ms_ssim,
                                    pull_push_loss, pull_push_weights,
                                    sobel_gradients)
from msfam_mm.models.losses.pull_push_loss import (GAMMA_A, GAMMA_G,
                                                   edge_strength_orientation,
                                                   relative_orientation)

from loss_references import _load_grey, _smooth_random, _t


def _image(kind, h, w, seed=0):
    if kind == 'black':
        return torch.zeros(1, 1, h, w)
    if kind == 'saturated':
        return torch.ones(1, 1, h, w)
    if kind == 'constant':
        return torch.full((1, 1, h, w), 0.37)
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 1, h, w, generator=g)


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
