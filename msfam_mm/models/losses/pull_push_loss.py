"""Pull-Push loss, MSFAM Algorithms 1-2 (Section 3.6).

Algorithm 1 is the edge-information preservation value Q^{AB/F} of Xydeas
and Petrovic ("Objective image fusion performance measure", Electronics
Letters 2000, paper ref. [40]); Algorithm 2 turns the two preservation
values (fused vs visible, fused vs infrared) into softmax weights of two
MS-SSIM losses:

    L = alpha_vis * (1 - MS-SSIM(vis, F)) + alpha_ir * (1 - MS-SSIM(ir, F))

Implementation choices (reasons and measurements in docs/losses.md):

* Sobel kernels ``Kx = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]`` and
  ``Ky = Kx^T`` applied as cross-correlation after **replicate** padding, so
  the maps keep the image size and a constant image has exactly zero
  gradient (zero padding would invent edges along the border; it is
  available as ``sobel_padding='zeros'``, which reproduces the reference
  Q^{AB/F} code: then ``q_vis + q_ir`` is its Q^{AB/F}).
* Edge strength ``g = sqrt(sx^2 + sy^2 + eps^2)`` (eps = 1e-6, far below the
  smallest 8-bit Sobel response 1/255): finite derivative at flat pixels.
* Orientation ``alpha = atan(sy / sx)`` in (-pi/2, pi/2], computed as
  ``atan2`` folded by pi; ``|sx| <= eps`` gives pi/2 as ``sx == 0`` does in
  the reference Q^{AB/F} code, and flat pixels (``sx^2 + sy^2 <= eps^2``)
  get the safe input (sy, sx) = (1, 0) *before* ``atan2`` so that no NaN
  gradient arises.
* Relative strength ``G = min(g_a, g_b) / max(g_a, g_b)`` (Algorithm 1
  step 3; both g > 0, so never 0/0).
* Relative orientation: ``orientation='xydeas'`` (default)
  ``A = 1 - |alpha_a - alpha_b| / (pi/2)`` as in Xydeas-Petrovic's measure
  and its reference implementation. The formula printed in Algorithm 1,
  ``(|alpha_a - alpha_b| - pi/2) / (pi/2)``, is exactly its negative: it
  rates identical orientations -1, where Q_alpha ~ 6e-18, so Q ~ 0 on every
  pixel that matches; it is available as ``'as_printed'``. ``'periodic'``
  treats orientations modulo pi, ``| |alpha_a - alpha_b| - pi/2 | / (pi/2)``
  (the printed formula with an absolute value).
* The factor written "Gamma K" in step 4 is taken as Gamma (K = 1); the
  paper gives no values for the sigmoid constants, so they are
  Xydeas-Petrovic's (those of the measure Algorithm 1 reproduces).
* Sums in Algorithm 2 step 2 run over the pixels of each image separately,
  so every image of a batch gets its own (alpha_vis, alpha_ir).
* ``detach_weights=True`` (default): alpha_vis and alpha_ir are "scale
  factors" set by the current state of the fused image (Section 3.6) and
  receive no gradient; ``False`` back-propagates through Algorithm 1 too.
* ``direction='as_written'`` (default) implements Algorithm 2 literally;
  ``'as_described'`` swaps the two weights, which produces the behaviour the
  text of Section 3.6 describes (see docs/losses.md for the measured
  direction of both); ``'equal'`` fixes both weights at 0.5, the plain
  two-source MS-SSIM loss that the Table 3 ablation "without Pull-Push"
  trains with.
"""
import math
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS
from ._utils import check_image, check_reduction, check_same_shape, reduce
from .ssim import check_ms_ssim_terms, ms_ssim

# Xydeas & Petrovic (2000) constants, MSFAM Algorithm 1 step 4.
GAMMA_G, KAPPA_G, SIGMA_G = 0.9994, -15.0, 0.5
GAMMA_A, KAPPA_A, SIGMA_A = 0.9879, -22.0, 0.8
EDGE_WEIGHT_EXPONENT = 1.0  # L in w_a = g_a^L (Algorithm 1 step 6)

ORIENTATIONS = ('xydeas', 'as_printed', 'periodic')
SOBEL_PADDINGS = ('replicate', 'zeros')
DIRECTIONS = ('as_written', 'as_described', 'equal')

_SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))


def sobel_gradients(x: Tensor,
                    padding: str = 'replicate') -> Tuple[Tensor, Tensor]:
    """Sobel responses (s_x, s_y) of every channel (Algorithm 1, step 1).

    ``padding='replicate'`` (default) keeps the size and gives zero gradient
    on constant images; ``'zeros'`` reproduces MATLAB ``conv2(..., 'same')``
    of the reference Q^{AB/F} code (edges appear along bright borders).
    ``s_x`` grows with intensity to the right, ``s_y`` downwards.

    Example:
        >>> ramp = torch.arange(5.).repeat(5, 1).view(1, 1, 5, 5)
        >>> sx, sy = sobel_gradients(ramp)
        >>> sx[0, 0, 2, 2].item(), sy[0, 0, 2, 2].item()
        (8.0, 0.0)
    """
    if padding not in SOBEL_PADDINGS:
        raise ValueError(f'sobel_gradients: `padding` must be one of '
                         f'{SOBEL_PADDINGS}, got {padding!r}')
    kx = torch.tensor(_SOBEL_X, dtype=x.dtype, device=x.device)
    kernels = torch.stack([kx, kx.t()]).unsqueeze(1)  # (2, 1, 3, 3)
    b, c, h, w = x.shape
    mode = 'replicate' if padding == 'replicate' else 'constant'
    padded = F.pad(x.reshape(b * c, 1, h, w), (1, 1, 1, 1), mode=mode)
    grads = F.conv2d(padded, kernels).view(b, c, 2, h, w)
    return grads[:, :, 0], grads[:, :, 1]


def edge_strength_orientation(sx: Tensor, sy: Tensor,
                              eps: float = 1e-6) -> Tuple[Tensor, Tensor]:
    """Edge strength g and orientation alpha (Algorithm 1, step 2).

    ``g = sqrt(sx^2 + sy^2 + eps^2)``; ``alpha = atan(sy / sx)`` in
    (-pi/2, pi/2] with ``alpha = pi/2`` where ``|sx| <= eps`` (also on flat
    pixels). Values and gradients are finite everywhere.
    """
    sq = sx * sx + sy * sy
    g = torch.sqrt(sq + eps * eps)
    flat = sq <= eps * eps
    # |sx| <= eps counts as sx = 0 (-> pi/2): images scaled to [0, 1] leave
    # rounding noise (~1e-17) where MATLAB's 0-255 arithmetic gives exact 0,
    # and the noise's sign would flip the orientation between +-pi/2.
    # Replace the inputs (not the output) of atan2 on flat pixels: the
    # gradient of atan2 at (0, 0) is NaN and would leak through torch.where.
    sy_safe = torch.where(flat, torch.ones_like(sy), sy)
    sx_safe = torch.where(flat | (sx.abs() <= eps), torch.zeros_like(sx), sx)
    angle = torch.atan2(sy_safe, sx_safe)  # (-pi, pi]
    # Fold to the range of atan: (-pi/2, pi/2].
    angle = torch.where(angle > math.pi / 2, angle - math.pi, angle)
    angle = torch.where(angle <= -math.pi / 2, angle + math.pi, angle)
    return g, angle


def relative_orientation(alpha_a: Tensor, alpha_b: Tensor,
                         orientation: str = 'xydeas') -> Tensor:
    """Relative orientation A^{ab} (Algorithm 1, step 3); see module doc."""
    diff = (alpha_a - alpha_b).abs()  # [0, pi)
    half_pi = math.pi / 2
    if orientation == 'xydeas':
        return 1 - diff / half_pi
    if orientation == 'as_printed':
        return (diff - half_pi) / half_pi
    if orientation == 'periodic':
        return (diff - half_pi).abs() / half_pi
    raise ValueError(f'relative_orientation: `orientation` must be one of '
                     f'{ORIENTATIONS}, got {orientation!r}')


def edge_preservation(source: Tensor,
                      fused: Tensor,
                      *,
                      orientation: str = 'xydeas',
                      edge_exponent: float = EDGE_WEIGHT_EXPONENT,
                      eps: float = 1e-6,
                      sobel_padding: str = 'replicate'
                      ) -> Tuple[Tensor, Tensor]:
    """MSFAM Algorithm 1: per-pixel Q^{aF} and edge weight w_a.

    Args:
        source: source image I_a, (B, C, H, W).
        fused: fused image I_F, same shape.
        orientation: formula for A^{ab}, one of ``'xydeas'`` (default),
            ``'as_printed'``, ``'periodic'``.
        edge_exponent: L in ``w_a = g_a^L`` (default 1).
        eps: floor of the edge strength (see
            :func:`edge_strength_orientation`).
        sobel_padding: ``'replicate'`` (default) or ``'zeros'`` (as the
            MATLAB Q^{AB/F} code), see :func:`sobel_gradients`.

    Returns:
        ``(Q, w)``, both (B, C, H, W); Q in [0, Gamma_g * Gamma_alpha].

    Example:
        >>> x = torch.rand(1, 1, 16, 16)
        >>> q, w = edge_preservation(x, x)
        >>> round(q.min().item(), 4)  # G = 1, A = 1 on every pixel
        0.9748
    """
    where = 'edge_preservation'
    check_image(source, 'source', where)
    check_image(fused, 'fused', where)
    check_same_shape(source, fused, '`source` and `fused`', where)
    if orientation not in ORIENTATIONS:
        raise ValueError(f'{where}: `orientation` must be one of '
                         f'{ORIENTATIONS}, got {orientation!r}')
    if source.dtype in (torch.float16, torch.bfloat16):
        # eps^2 = 1e-12 underflows in half precision (0/0 on flat pixels).
        source, fused = source.float(), fused.float()
    g_a, alpha_a = edge_strength_orientation(
        *sobel_gradients(source, sobel_padding), eps)
    g_f, alpha_f = edge_strength_orientation(
        *sobel_gradients(fused, sobel_padding), eps)
    strength = torch.minimum(g_a, g_f) / torch.maximum(g_a, g_f)
    orient = relative_orientation(alpha_a, alpha_f, orientation)
    # Gamma / (1 + exp(kappa (x - s))) == Gamma * sigmoid(-kappa (x - s))
    q_g = GAMMA_G * torch.sigmoid(-KAPPA_G * (strength - SIGMA_G))
    q_a = GAMMA_A * torch.sigmoid(-KAPPA_A * (orient - SIGMA_A))
    return q_g * q_a, g_a ** edge_exponent


def pull_push_weights(vis: Tensor,
                      ir: Tensor,
                      fused: Tensor,
                      *,
                      orientation: str = 'xydeas',
                      direction: str = 'as_written',
                      edge_exponent: float = EDGE_WEIGHT_EXPONENT,
                      eps: float = 1e-6,
                      sobel_padding: str = 'replicate') -> Dict[str, Tensor]:
    """MSFAM Algorithm 2, steps 1-3: per-image weights of the two terms.

    Returns a dict of (B,) tensors: ``q_vis``, ``q_ir`` (normalised
    weighted edge preservation, step 2), ``alpha_vis``, ``alpha_ir``
    (softmax of the relative values, step 3; swapped when
    ``direction='as_described'``, both 0.5 when ``direction='equal'``).
    The options after the three images are keyword-only; they are those
    of :func:`edge_preservation` and ``direction``.
    Gradients flow through all of them; detach them to use them as fixed
    scale factors. ``q_vis + q_ir`` is Xydeas-Petrovic's Q^{AB/F} of F.

    Example:
        >>> v, i = torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32)
        >>> w = pull_push_weights(v, i, v)  # F = V: Q_vis > Q_ir
        >>> bool(w['alpha_vis'] > w['alpha_ir'])
        True
    """
    where = 'pull_push_weights'
    for name, t in (('vis', vis), ('ir', ir), ('fused', fused)):
        check_image(t, name, where)
    check_same_shape(vis, fused, '`vis` and `fused`', where)
    check_same_shape(ir, fused, '`ir` and `fused`', where)
    if direction not in DIRECTIONS:
        raise ValueError(f'{where}: `direction` must be one of {DIRECTIONS}, '
                         f'got {direction!r}')
    settings = dict(orientation=orientation, edge_exponent=edge_exponent,
                    eps=eps, sobel_padding=sobel_padding)
    q_vis, w_vis = edge_preservation(vis, fused, **settings)
    q_ir, w_ir = edge_preservation(ir, fused, **settings)
    norm = (w_vis + w_ir).flatten(1).sum(1)
    qn_vis = (q_vis * w_vis).flatten(1).sum(1) / norm
    qn_ir = (q_ir * w_ir).flatten(1).sum(1) / norm
    total = qn_vis + qn_ir + eps
    weights = torch.softmax(torch.stack([qn_vis / total, qn_ir / total], 1),
                            dim=1)
    alpha_vis, alpha_ir = weights[:, 0], weights[:, 1]
    if direction == 'as_described':
        alpha_vis, alpha_ir = alpha_ir, alpha_vis
    elif direction == 'equal':
        # the ablation without Pull-Push (Table 3): fixed, equal weights
        alpha_vis = alpha_ir = torch.full_like(alpha_vis, 0.5)
    return dict(q_vis=qn_vis, q_ir=qn_ir, alpha_vis=alpha_vis,
                alpha_ir=alpha_ir)


def pull_push_loss(vis: Tensor,
                   ir: Tensor,
                   fused: Tensor,
                   *,
                   detach_weights: bool = True,
                   direction: str = 'as_written',
                   orientation: str = 'xydeas',
                   edge_exponent: float = EDGE_WEIGHT_EXPONENT,
                   eps: float = 1e-6,
                   window_size: int = 11,
                   data_range: float = 1.0,
                   padding: str = 'valid',
                   sobel_padding: str = 'replicate',
                   reduction: str = 'mean',
                   ms_ssim_terms: str = 'clamp') -> Tensor:
    """MSFAM Algorithm 2: the Pull-Push loss.

    ``alpha_vis * (1 - MS-SSIM(vis, F)) + alpha_ir * (1 - MS-SSIM(ir, F))``
    with (alpha_vis, alpha_ir) from :func:`pull_push_weights`.

    Args:
        vis, ir, fused: (B, 1, H, W) images in [0, 1] (fused unclamped).
            The options after them are keyword-only.
        detach_weights: treat the alphas as constants (default True).
        direction: ``'as_written'`` (Algorithm 2), ``'as_described'``
            (weights swapped, the behaviour described in Section 3.6) or
            ``'equal'`` (both 0.5: the ablation without Pull-Push).
        orientation, edge_exponent, eps: see :func:`edge_preservation`.
        window_size, data_range, padding: MS-SSIM settings, see
            :func:`~msfam_mm.models.losses.ssim.ms_ssim`.
        sobel_padding: border handling of the Sobel filters of Algorithm 1.
        reduction: ``'mean'`` over the batch, ``'sum'`` or ``'none'`` (B,).
        ms_ssim_terms: ``'clamp'`` (Wang 2003) or ``'shift'`` (terms mapped
            to (t + 1) / 2, so a source the fused image is anti-correlated
            with still pulls); see :func:`~msfam_mm.models.losses.ssim.ms_ssim`.

    Example:
        >>> v, i = torch.rand(2, 1, 64, 64), torch.rand(2, 1, 64, 64)
        >>> pull_push_loss(v, i, 0.5 * (v + i)).shape
        torch.Size([])
    """
    where = 'pull_push_loss'
    check_reduction(reduction, where)
    weight_input = fused.detach() if detach_weights else fused
    weights = pull_push_weights(vis, ir, weight_input,
                                orientation=orientation, direction=direction,
                                edge_exponent=edge_exponent, eps=eps,
                                sobel_padding=sobel_padding)
    ssim_vis = ms_ssim(vis, fused, window_size, data_range=data_range,
                       padding=padding, reduction='none',
                       terms=ms_ssim_terms)
    ssim_ir = ms_ssim(ir, fused, window_size, data_range=data_range,
                      padding=padding, reduction='none', terms=ms_ssim_terms)
    values = (weights['alpha_vis'] * (1 - ssim_vis)
              + weights['alpha_ir'] * (1 - ssim_ir))
    return reduce(values, reduction)


@MODELS.register_module()
class PullPushLoss(nn.Module):
    """Module form of :func:`pull_push_loss` (MSFAM Section 3.6).

    ``forward(vis, ir, fused)``; :meth:`weights` returns the per-image
    Q and alpha values for logging. The options are keyword-only.

    Args:
        detach_weights: alphas are constant scale factors (default True).
        direction: ``'as_written'`` (default), ``'as_described'`` or
            ``'equal'``.
        orientation: ``'xydeas'`` (default), ``'as_printed'``, ``'periodic'``.
        edge_exponent: L of the edge weights (default 1).
        eps: numerical floor of edge strengths and ratios.
        window_size, data_range, padding: MS-SSIM settings.
        sobel_padding: ``'replicate'`` (default) or ``'zeros'``.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        ms_ssim_terms: ``'clamp'`` (default) or ``'shift'``.

    Example:
        >>> loss = PullPushLoss()
        >>> v, i = torch.rand(2, 1, 64, 64), torch.rand(2, 1, 64, 64)
        >>> loss(v, i, 0.5 * (v + i)).item() > 0
        True
    """

    def __init__(self, *, detach_weights: bool = True,
                 direction: str = 'as_written', orientation: str = 'xydeas',
                 edge_exponent: float = EDGE_WEIGHT_EXPONENT,
                 eps: float = 1e-6, window_size: int = 11,
                 data_range: float = 1.0, padding: str = 'valid',
                 sobel_padding: str = 'replicate',
                 reduction: str = 'mean',
                 ms_ssim_terms: str = 'clamp') -> None:
        super().__init__()
        where = 'PullPushLoss'
        if direction not in DIRECTIONS:
            raise ValueError(f'{where}: `direction` must be one of '
                             f'{DIRECTIONS}, got {direction!r}')
        if orientation not in ORIENTATIONS:
            raise ValueError(f'{where}: `orientation` must be one of '
                             f'{ORIENTATIONS}, got {orientation!r}')
        if not edge_exponent > 0:
            raise ValueError(f'{where}: `edge_exponent` must be > 0, '
                             f'got {edge_exponent}')
        if not 0 < eps < 1e-2:
            raise ValueError(f'{where}: `eps` must be in (0, 1e-2), got {eps}')
        if sobel_padding not in SOBEL_PADDINGS:
            raise ValueError(f'{where}: `sobel_padding` must be one of '
                             f'{SOBEL_PADDINGS}, got {sobel_padding!r}')
        check_reduction(reduction, where)
        check_ms_ssim_terms(ms_ssim_terms, where, 'ms_ssim_terms')
        self.detach_weights = detach_weights
        self.direction = direction
        self.orientation = orientation
        self.edge_exponent = edge_exponent
        self.eps = eps
        self.window_size = window_size
        self.data_range = data_range
        self.padding = padding
        self.sobel_padding = sobel_padding
        self.reduction = reduction
        self.ms_ssim_terms = ms_ssim_terms

    def forward(self, vis: Tensor, ir: Tensor, fused: Tensor) -> Tensor:
        return pull_push_loss(
            vis, ir, fused, detach_weights=self.detach_weights,
            direction=self.direction, orientation=self.orientation,
            edge_exponent=self.edge_exponent, eps=self.eps,
            window_size=self.window_size, data_range=self.data_range,
            padding=self.padding, sobel_padding=self.sobel_padding,
            reduction=self.reduction, ms_ssim_terms=self.ms_ssim_terms)

    @torch.no_grad()
    def weights(self, vis: Tensor, ir: Tensor,
                fused: Tensor) -> Dict[str, Tensor]:
        """Per-image ``q_vis, q_ir, alpha_vis, alpha_ir`` (no gradient)."""
        return pull_push_weights(
            vis, ir, fused, orientation=self.orientation,
            direction=self.direction, edge_exponent=self.edge_exponent,
            eps=self.eps, sobel_padding=self.sobel_padding)

    def extra_repr(self) -> str:
        return (f'detach_weights={self.detach_weights}, '
                f'direction={self.direction!r}, '
                f'orientation={self.orientation!r}, '
                f'reduction={self.reduction!r}, '
                f'ms_ssim_terms={self.ms_ssim_terms!r}')
