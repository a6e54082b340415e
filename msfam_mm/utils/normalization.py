"""Per-image min-max normalisation, MSFAM Section 4.1.

"For the output result, we normalized it to 0-255 according to the maximum
and minimum data values": the fused image is its own min..max stretched to
the full range. Used by the inference API (before the 8-bit conversion)
and by stage 2 (the Semantic Constraint classifier judges that image).
"""
import torch

__all__ = ['minmax_normalize']


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
