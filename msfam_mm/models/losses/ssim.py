"""SSIM and MS-SSIM, functional and module forms.

SSIM is used by the stage-1 reconstruction loss (Eq. 1 of the MSFAM paper,
Section 3.3) and MS-SSIM by the Pull-Push loss (Algorithm 2, step 4,
Section 3.6). Definitions follow Wang et al., "Image quality assessment:
from error visibility to structural similarity", TIP 2004 (SSIM, paper
ref. [41]) and Wang, Simoncelli and Bovik, "Multiscale structural similarity
for image quality assessment", Asilomar 2003 (MS-SSIM).

Design decisions (also in docs/losses.md):

* Gaussian window 11 x 11, sigma 1.5, K1 = 0.01, K2 = 0.03, applied as two
  separable 1-D filters.
* ``padding='valid'`` (default) evaluates the window only where it fits in
  the image, like Wang's reference MATLAB code and pytorch_msssim; the
  alternative ``'reflect'`` mirrors the border (no repeated edge pixel) so
  the SSIM map has the input size and images smaller than the window work.
* MS-SSIM uses 2 x 2 average pooling between scales (Wang 2003 low-pass +
  downsample by 2; an odd last row/column is dropped) and the five exponents
  of Wang 2003. When the image is too small for five scales (the coarsest
  scale must still hold a whole window), the coarsest scales are dropped and
  the remaining exponents are renormalised to sum to 1; with one scale
  MS-SSIM equals SSIM. A 64 x 64 crop gives 3 scales, 37 x 53 gives 2.
* The contrast-structure terms (and the final SSIM term) of MS-SSIM are
  clamped to ``eps`` before the fractional power: a negative base gives NaN
  and a zero base an infinite derivative (pytorch_msssim uses ``relu``,
  whose gradient at exactly 0 is ``0 * inf = NaN``).
* ``terms='shift'`` maps every term t in [-1, 1] to (t + 1) / 2 before the
  power, the form the training code of the NestFuse family (DenseFuse,
  NestFuse, RFN-Nest, whose decoder MSFAM uses) trains with. A term then
  reaches the clamp only at t = -1, so a fused image anti-correlated with a
  source at some scale still receives a full gradient towards it; with the
  default ``'clamp'`` a clamped scale passes no gradient and shrinks the
  others' by ``eps ** w`` (docs/losses.md, "MS-SSIM terms in stage 2").
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS
from ._utils import (check_image, check_reduction, check_same_shape,
                     reduce)

# Wang, Simoncelli and Bovik (2003), Section 3.2: exponents of scales 1..5.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
PADDINGS = ('valid', 'reflect')
MS_SSIM_TERMS = ('clamp', 'shift')


def gaussian_window(window_size: int = 11,
                    sigma: float = 1.5,
                    dtype: torch.dtype = torch.float32,
                    device=None) -> Tensor:
    """1-D Gaussian window of odd length ``window_size``, summing to 1."""
    if (not isinstance(window_size, int) or window_size < 1
            or window_size % 2 == 0):
        raise ValueError('gaussian_window: `window_size` must be a positive '
                         f'odd integer, got {window_size!r}')
    if not sigma > 0:
        raise ValueError(f'gaussian_window: `sigma` must be > 0, got {sigma}')
    coords = torch.arange(window_size, dtype=torch.float64)
    coords = coords - (window_size - 1) / 2
    g = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    return (g / g.sum()).to(dtype=dtype, device=device)


def _check_args(window_size: int, sigma: float, data_range: float,
                padding: str, where: str) -> None:
    if (not isinstance(window_size, int) or window_size < 1
            or window_size % 2 == 0):
        raise ValueError(f'{where}: `window_size` must be a positive odd '
                         f'integer, got {window_size!r}')
    if not sigma > 0:
        raise ValueError(f'{where}: `sigma` must be > 0, got {sigma}')
    if not data_range > 0:
        raise ValueError(f'{where}: `data_range` must be > 0 (1.0 for images '
                         f'in [0, 1]), got {data_range}')
    if padding not in PADDINGS:
        raise ValueError(f'{where}: `padding` must be one of {PADDINGS}, '
                         f'got {padding!r}')


def check_ms_ssim_terms(terms: str, where: str, arg: str = 'terms') -> None:
    """Raise unless ``terms`` is one of :data:`MS_SSIM_TERMS` (the
    ``terms`` argument of :func:`ms_ssim`, passed as ``arg``)."""
    if terms not in MS_SSIM_TERMS:
        raise ValueError(f'{where}: `{arg}` must be one of {MS_SSIM_TERMS}, '
                         f'got {terms!r}')


def _check_size(h: int, w: int, window_size: int, padding: str,
                where: str) -> None:
    if padding == 'valid' and min(h, w) < window_size:
        raise ValueError(
            f'{where}: image size {h}x{w} is smaller than the '
            f'{window_size}x{window_size} window; use padding=\'reflect\' or '
            'a smaller window_size')
    if padding == 'reflect' and min(h, w) <= window_size // 2:
        raise ValueError(
            f'{where}: image size {h}x{w} is too small to reflect-pad by '
            f'{window_size // 2} pixels; use a smaller window_size')


def _filter(x: Tensor, win: Tensor, padding: str) -> Tensor:
    """Separable Gaussian filtering of every channel of ``x``."""
    c = x.shape[1]
    r = win.numel() // 2
    if padding == 'reflect' and r > 0:
        x = F.pad(x, (r, r, r, r), mode='reflect')
    kh = win.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    kw = win.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    x = F.conv2d(x, kh, groups=c)
    return F.conv2d(x, kw, groups=c)


def _ssim_maps(x: Tensor, y: Tensor, win: Tensor, data_range: float,
               k1: float, k2: float, padding: str) -> Tuple[Tensor, Tensor]:
    """SSIM map and contrast-structure map (Wang et al. 2004, Eqs. 13, 16).

    ``x`` and ``y`` enter every statistic symmetrically, so for ``x is y``
    numerator and denominator are bit-identical and SSIM is exactly 1.
    """
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    mu_x = _filter(x, win, padding)
    mu_y = _filter(y, win, padding)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    sigma_xx = _filter(x * x, win, padding) - mu_xx
    sigma_yy = _filter(y * y, win, padding) - mu_yy
    sigma_xy = _filter(x * y, win, padding) - mu_xy
    cs_map = (2 * sigma_xy + c2) / (sigma_xx + sigma_yy + c2)
    luminance = (2 * mu_xy + c1) / (mu_xx + mu_yy + c1)
    return luminance * cs_map, cs_map


def _prepare(x: Tensor, y: Tensor, where: str) -> Tuple[Tensor, Tensor]:
    check_image(x, 'x', where)
    check_image(y, 'y', where)
    check_same_shape(x, y, '`x` and `y`', where)
    if x.dtype in (torch.float16, torch.bfloat16):
        # Second moments lose all precision in half floats.
        x, y = x.float(), y.float()
    return x, y


def ssim(x: Tensor,
         y: Tensor,
         window_size: int = 11,
         sigma: float = 1.5,
         data_range: float = 1.0,
         k1: float = 0.01,
         k2: float = 0.03,
         padding: str = 'valid',
         reduction: str = 'mean') -> Tensor:
    """Structural similarity index (Wang et al. 2004; MSFAM Eq. 1).

    Args:
        x, y: images (B, C, H, W), values in [0, data_range].
        window_size: odd side of the Gaussian window (default 11).
        sigma: standard deviation of the Gaussian window (default 1.5).
        data_range: dynamic range L of the images (1.0 for [0, 1]).
        k1, k2: stabilising constants, C1 = (k1 L)^2, C2 = (k2 L)^2.
        padding: ``'valid'`` (window only inside the image) or ``'reflect'``.
        reduction: ``'mean'`` over the batch, ``'sum'`` or ``'none'``
            (per-image SSIM, shape (B,)).

    Returns:
        SSIM averaged over channels and pixels of each image, then reduced.

    Example:
        >>> x = torch.rand(2, 1, 64, 64)
        >>> ssim(x, x).item()
        1.0
    """
    where = 'ssim'
    _check_args(window_size, sigma, data_range, padding, where)
    check_reduction(reduction, where)
    x, y = _prepare(x, y, where)
    _check_size(x.shape[-2], x.shape[-1], window_size, padding, where)
    win = gaussian_window(window_size, sigma, x.dtype, x.device)
    ssim_map, _ = _ssim_maps(x, y, win, data_range, k1, k2, padding)
    return reduce(ssim_map.flatten(1).mean(1), reduction)


def ms_ssim_num_scales(height: int, width: int, window_size: int = 11,
                       max_scales: int = 5) -> int:
    """Number of MS-SSIM scales whose coarsest image still holds a window.

    Scale k (0-based) has side ``side // 2**k``; scales are used while that
    is >= ``window_size``, at most ``max_scales`` and at least 1.

    Example:
        >>> ms_ssim_num_scales(256, 320), ms_ssim_num_scales(64, 64)
        (5, 3)
    """
    side, n = min(height, width), 0
    while n < max_scales and side >= window_size:
        n += 1
        side //= 2
    return max(n, 1)


def ms_ssim(x: Tensor,
            y: Tensor,
            window_size: int = 11,
            sigma: float = 1.5,
            data_range: float = 1.0,
            k1: float = 0.01,
            k2: float = 0.03,
            padding: str = 'valid',
            weights: Optional[Sequence[float]] = None,
            eps: float = 1e-6,
            reduction: str = 'mean',
            terms: str = 'clamp') -> Tensor:
    """Multi-scale SSIM (Wang et al. 2003; MSFAM Algorithm 2, step 4).

    ``MS-SSIM = prod_{j<M} cs_j^{w_j} * ssim_M^{w_M}``, where ``cs_j`` is the
    mean contrast-structure term at scale j and ``ssim_M`` the mean SSIM at
    the coarsest scale. Images too small for all scales use fewer scales
    with the leading exponents renormalised (see module docstring).

    Args:
        x, y: images (B, C, H, W), values in [0, data_range].
        window_size, sigma, data_range, k1, k2, padding: as in :func:`ssim`.
        weights: per-scale exponents, finest first (default: Wang 2003's
            five). Their count is the maximum number of scales.
        eps: lower clamp of each term before the fractional power, which
            keeps values and gradients finite.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (shape (B,)).
        terms: ``'clamp'`` (default, Wang 2003: each term as is, clamped to
            ``eps``) or ``'shift'`` (each term t mapped to (t + 1) / 2
            first, so above the clamp unless t = -1). Both give 1 for
            identical images; ``'shift'`` is never lower.

    Example:
        >>> x = torch.rand(2, 1, 64, 64)
        >>> ms_ssim(x, x).item()
        1.0
        >>> y = (1 - x).requires_grad_()  # anti-correlated at every scale
        >>> ms_ssim(x, y).backward()  # every term clamped: no gradient
        >>> y.grad.abs().max().item()
        0.0
        >>> y.grad = None
        >>> ms_ssim(x, y, terms='shift').backward()
        >>> y.grad.abs().max().item() > 0
        True
    """
    where = 'ms_ssim'
    _check_args(window_size, sigma, data_range, padding, where)
    check_reduction(reduction, where)
    weights = MS_SSIM_WEIGHTS if weights is None else tuple(weights)
    if len(weights) == 0 or any(not w > 0 for w in weights):
        raise ValueError(f'{where}: `weights` must be a non-empty sequence of '
                         f'positive exponents, got {weights}')
    if not 0 < eps < 1:
        raise ValueError(f'{where}: `eps` must be in (0, 1), got {eps}')
    check_ms_ssim_terms(terms, where)
    x, y = _prepare(x, y, where)
    h, w = x.shape[-2:]
    _check_size(h, w, window_size, padding, where)
    n = ms_ssim_num_scales(h, w, window_size, len(weights))
    exps = torch.tensor(weights[:n], dtype=x.dtype, device=x.device)
    exps = exps / exps.sum()
    win = gaussian_window(window_size, sigma, x.dtype, x.device)

    per_scale = []
    for j in range(n):
        ssim_map, cs_map = _ssim_maps(x, y, win, data_range, k1, k2, padding)
        if j < n - 1:
            per_scale.append(cs_map.flatten(1).mean(1))
            x = F.avg_pool2d(x, kernel_size=2, stride=2)
            y = F.avg_pool2d(y, kernel_size=2, stride=2)
        else:
            per_scale.append(ssim_map.flatten(1).mean(1))
    per_scale = torch.stack(per_scale, dim=1)  # (B, n), each in [-1, 1]
    if terms == 'shift':
        per_scale = (per_scale + 1) / 2
    values = torch.prod(per_scale.clamp_min(eps) ** exps, dim=1)
    return reduce(values, reduction)


@MODELS.register_module()
class SSIMLoss(nn.Module):
    """``1 - SSIM(x, y)`` (the SSIM term of MSFAM Eq. 1).

    Args: see :func:`ssim`.

    Example:
        >>> loss = SSIMLoss()
        >>> x = torch.rand(2, 1, 32, 32)
        >>> loss(x, x).item()
        0.0
    """

    def __init__(self, window_size: int = 11, sigma: float = 1.5,
                 data_range: float = 1.0, padding: str = 'valid',
                 reduction: str = 'mean') -> None:
        super().__init__()
        _check_args(window_size, sigma, data_range, padding, 'SSIMLoss')
        check_reduction(reduction, 'SSIMLoss')
        self.window_size = window_size
        self.sigma = sigma
        self.data_range = data_range
        self.padding = padding
        self.reduction = reduction

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        values = ssim(x, y, self.window_size, self.sigma, self.data_range,
                      padding=self.padding, reduction='none')
        return reduce(1 - values, self.reduction)

    def extra_repr(self) -> str:
        return (f'window_size={self.window_size}, sigma={self.sigma}, '
                f'data_range={self.data_range}, padding={self.padding!r}, '
                f'reduction={self.reduction!r}')


@MODELS.register_module()
class MSSSIMLoss(nn.Module):
    """``1 - MS-SSIM(x, y)`` (the terms of MSFAM Algorithm 2, step 5).

    Args: see :func:`ms_ssim`.

    Example:
        >>> loss = MSSSIMLoss()
        >>> x = torch.rand(2, 1, 64, 64)
        >>> loss(x, x).item()
        0.0
    """

    def __init__(self, window_size: int = 11, sigma: float = 1.5,
                 data_range: float = 1.0, padding: str = 'valid',
                 weights: Optional[Sequence[float]] = None, eps: float = 1e-6,
                 reduction: str = 'mean', terms: str = 'clamp') -> None:
        super().__init__()
        _check_args(window_size, sigma, data_range, padding, 'MSSSIMLoss')
        check_reduction(reduction, 'MSSSIMLoss')
        check_ms_ssim_terms(terms, 'MSSSIMLoss')
        self.window_size = window_size
        self.sigma = sigma
        self.data_range = data_range
        self.padding = padding
        self.weights = None if weights is None else tuple(weights)
        self.eps = eps
        self.reduction = reduction
        self.terms = terms

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        values = ms_ssim(x, y, self.window_size, self.sigma,
                         self.data_range, padding=self.padding,
                         weights=self.weights, eps=self.eps, reduction='none',
                         terms=self.terms)
        return reduce(1 - values, self.reduction)

    def extra_repr(self) -> str:
        return (f'window_size={self.window_size}, sigma={self.sigma}, '
                f'data_range={self.data_range}, padding={self.padding!r}, '
                f'reduction={self.reduction!r}, terms={self.terms!r}')
