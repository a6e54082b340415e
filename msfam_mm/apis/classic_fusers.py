"""Classic fusion baselines that need no training.

Pixel-level rules used as references throughout the fusion literature and
in the paper's downstream comparison (Section 4.4): averaging, choose-max
and Laplacian-pyramid fusion (Burt & Adelson, 1983/1985). They are batched
torch code, so they run on CPU or CUDA on any image size, and through
:class:`~msfam_mm.apis.base_fuser.BaseFuser` on grey or colour (Y-channel)
inputs.

Functional forms work on float tensors ``(B, C, H, W)``; module forms are
registered in ``FUSERS`` as ``'average'``, ``'max'`` (alias
``'choose_max'``) and ``'laplacian'``.

Example:
    >>> import torch
    >>> vis, ir = torch.rand(2, 1, 1, 37, 53)
    >>> laplacian_pyramid_fusion(vis, ir, levels=4).shape
    torch.Size([1, 1, 37, 53])
"""
from typing import List

import torch
import torch.nn.functional as F

from ..registry import FUSERS
from .base_fuser import BaseFuser

# Burt & Adelson's generating kernel with a = 0.375: [1, 4, 6, 4, 1] / 16.
_BINOMIAL_5 = (1.0, 4.0, 6.0, 4.0, 1.0)


def average_fusion(vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """Pixel-wise mean of the two images."""
    _check_pair(vis, ir, 'average_fusion')
    return (vis + ir) * 0.5


def max_fusion(vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """Choose-max: per pixel the larger value. On intensities in [0, 1]
    this equals the max-absolute rule applied to coefficients."""
    _check_pair(vis, ir, 'max_fusion')
    return torch.maximum(vis, ir)


def _check_pair(vis: torch.Tensor, ir: torch.Tensor, fn: str) -> None:
    if vis.shape != ir.shape:
        raise ValueError(f'{fn}: visible shape {tuple(vis.shape)} differs '
                         f'from infrared shape {tuple(ir.shape)}')
    if vis.dim() != 4:
        raise ValueError(f'{fn}: expected (B, C, H, W) tensors, got '
                         f'{vis.dim()} dimensions')


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Separable 5x5 binomial blur with reflect padding (any size >= 1)."""
    k = torch.tensor(_BINOMIAL_5, dtype=x.dtype, device=x.device) / 16.0
    c = x.shape[1]
    # reflect padding needs size > 2; replicate covers 1- and 2-pixel edges
    mode = 'reflect' if min(x.shape[-2:]) > 2 else 'replicate'
    x = F.pad(x, (2, 2, 2, 2), mode=mode)
    x = F.conv2d(x, k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(x, k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


def pyr_down(x: torch.Tensor) -> torch.Tensor:
    """Blur and keep every second pixel: (H, W) -> (ceil(H/2), ceil(W/2))."""
    return _blur(x)[..., ::2, ::2]


def pyr_up(x: torch.Tensor, size) -> torch.Tensor:
    """Insert zeros, blur and scale by 4 (the zeros carry no energy), then
    crop to ``size`` so odd sizes round-trip exactly."""
    b, c, h, w = x.shape
    up = x.new_zeros(b, c, 2 * h, 2 * w)
    up[..., ::2, ::2] = x * 4.0
    return _blur(up)[..., :size[0], :size[1]]


def laplacian_pyramid(x: torch.Tensor, levels: int) -> List[torch.Tensor]:
    """Band-pass levels (finest first) followed by the low-pass residual.

    ``levels`` is capped so the coarsest level keeps at least 2 pixels per
    side; ``sum`` of the upsampled levels reconstructs ``x`` exactly.
    """
    pyr = []
    cur = x
    for _ in range(levels - 1):
        if min(cur.shape[-2:]) < 4:
            break
        down = pyr_down(cur)
        pyr.append(cur - pyr_up(down, cur.shape[-2:]))
        cur = down
    pyr.append(cur)
    return pyr


def reconstruct_laplacian(pyr: List[torch.Tensor]) -> torch.Tensor:
    """Collapse a pyramid from :func:`laplacian_pyramid`."""
    cur = pyr[-1]
    for band in reversed(pyr[:-1]):
        cur = band + pyr_up(cur, band.shape[-2:])
    return cur


def laplacian_pyramid_fusion(vis: torch.Tensor, ir: torch.Tensor,
                             levels: int = 4) -> torch.Tensor:
    """Laplacian-pyramid fusion: max-absolute rule on the band-pass levels,
    mean of the low-pass residuals (the usual rule set, e.g. Burt &
    Kolczynski 1993; Toet 1989).

    Args:
        vis, ir: ``(B, C, H, W)`` float tensors of one shape.
        levels: pyramid levels including the residual (4 is the common
            choice for 640x512 frames; capped for small images).
    """
    _check_pair(vis, ir, 'laplacian_pyramid_fusion')
    if levels < 1:
        raise ValueError(f'laplacian_pyramid_fusion: levels must be >= 1, '
                         f'got {levels}')
    # pyramids in fp32: under autocast the blur would otherwise run in
    # reduced precision and the reconstruction would no longer be exact
    with torch.autocast(device_type=vis.device.type, enabled=False):
        pv = laplacian_pyramid(vis.float(), levels)
        pi = laplacian_pyramid(ir.float(), levels)
        fused = [torch.where(a.abs() >= b.abs(), a, b)
                 for a, b in zip(pv[:-1], pi[:-1])]
        fused.append((pv[-1] + pi[-1]) * 0.5)
        return reconstruct_laplacian(fused)


@FUSERS.register_module(name='average')
class AverageFuser(BaseFuser):
    """Pixel-wise average of visible and infrared (``'average'``).

    Example:
        >>> fuser = AverageFuser()
        >>> fused = fuser(vis_img, ir_img)               # doctest: +SKIP
    """

    def fuse_tensor(self, vis, ir):
        return average_fusion(vis, ir)


@FUSERS.register_module(name=['max', 'choose_max'])
class MaxFuser(BaseFuser):
    """Choose-max / max-absolute pixel rule (``'max'``, ``'choose_max'``)."""

    def fuse_tensor(self, vis, ir):
        return max_fusion(vis, ir)


@FUSERS.register_module(name='laplacian')
class LaplacianPyramidFuser(BaseFuser):
    """Laplacian-pyramid fusion (``'laplacian'``).

    Args:
        levels (int): pyramid levels including the low-pass residual.
        **kwargs: see :class:`BaseFuser` (``color``, ``device``, ...).
    """

    def __init__(self, levels: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        if int(levels) < 1:
            raise ValueError(f'LaplacianPyramidFuser: levels must be >= 1, '
                             f'got {levels}')
        self.levels = int(levels)

    def fuse_tensor(self, vis, ir):
        return laplacian_pyramid_fusion(vis, ir, self.levels)

    def describe(self):
        return dict(super().describe(), levels=self.levels)
