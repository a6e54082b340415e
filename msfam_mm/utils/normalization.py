"""Per-image min-max normalisation (MSFAM Section 4.1) and the one
conversion of float images to 8 bits.

"For the output result, we normalized it to 0-255 according to the maximum
and minimum data values": the fused image is its own min..max stretched to
the full range. A constant image has no range to stretch (0/0); it maps to
0, black, everywhere in the package: in training (the Semantic Constraint
classifier judges :func:`minmax_normalize`'s image), in inference (the
fusers write :func:`to_uint8`'s bytes) and in the metrics (``FusionMetric``
scores those same bytes).
"""
import torch

__all__ = ['minmax_normalize', 'to_uint8', 'UINT8_MODES']

#: how :func:`to_uint8` maps float values to 0..255
UINT8_MODES = ('minmax', 'clip')


def minmax_normalize(x: torch.Tensor) -> torch.Tensor:
    """Stretch each image of ``x`` (B, C, H, W) to [0, 1]; differentiable.

    A constant image maps to 0.

    Example:
        >>> minmax_normalize(torch.tensor([[[[2., 4., 6.]]]])).tolist()
        [[[[0.0, 0.5, 1.0]]]]
        >>> minmax_normalize(torch.full((1, 1, 2, 2), 3.)).sum().item()
        0.0
    """
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    hi = x.amax(dim=(1, 2, 3), keepdim=True)
    rng = hi - lo
    return torch.where(rng > 0, (x - lo) / rng.clamp_min(1e-12),
                       torch.zeros_like(x))


def to_uint8(x: torch.Tensor, normalize: str = 'minmax') -> torch.Tensor:
    """Float images ``(B, C, H, W)`` -> uint8 on the same device, each
    image on its own.

    Args:
        x: float tensor of shape ``(B, C, H, W)``; float64 is computed in
            float64, any other float type in float32.
        normalize: ``'minmax'`` stretches each image's own min..max to
            0..255 (Section 4.1; a constant image becomes 0, black);
            ``'clip'`` clips to [0, 1] and scales by 255 (images already
            in [0, 1], e.g. sources or classic fusion results).

    Values are rounded to the nearest integer, halves to even
    (``torch.round``).

    Example:
        >>> to_uint8(torch.tensor([[[[-2., 0., 2.]]]])).tolist()
        [[[[0, 128, 255]]]]
        >>> to_uint8(torch.full((1, 1, 1, 2), 0.7)).tolist()  # constant
        [[[[0, 0]]]]
        >>> to_uint8(torch.tensor([[[[-0.5, 0.5, 1.5]]]]), 'clip').tolist()
        [[[[0, 128, 255]]]]
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f'to_uint8: expected a float tensor, got '
                        f'{getattr(x, "dtype", type(x).__name__)}')
    if x.dim() != 4:
        raise ValueError(f'to_uint8: expected shape (B, C, H, W), got '
                         f'{tuple(x.shape)}')
    if x.dtype != torch.float64:
        x = x.float()
    if normalize == 'minmax':
        x = minmax_normalize(x)
    elif normalize == 'clip':
        x = x.clamp(0.0, 1.0)
    else:
        raise ValueError(f'to_uint8: normalize must be one of {UINT8_MODES}, '
                         f'got {normalize!r}')
    return torch.round(x * 255.0).to(torch.uint8)
