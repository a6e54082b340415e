"""Input checks and reductions shared by the MSFAM losses.

Every loss takes grey images as float tensors of shape (B, C, H, W)
(C = 1 in MSFAM, see docs/CONTRACTS.md). Values are *not* range-checked:
the network output is deliberately unclamped, and a range check would force
a device synchronisation on every step.
"""
from torch import Tensor

REDUCTIONS = ('mean', 'sum', 'none')


def check_image(x: Tensor, name: str, where: str) -> None:
    """Raise a precise error unless ``x`` is a float (B, C, H, W) tensor.

    Args:
        x: the tensor to check.
        name: argument name used in the message (e.g. ``'fused'``).
        where: the function or class that received it (e.g. ``'ssim'``).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f'{where}: `{name}` must be a torch.Tensor, '
                        f'got {type(x).__name__}')
    if x.dim() != 4:
        raise ValueError(f'{where}: `{name}` must have shape (B, C, H, W), '
                         f'got {x.dim()}-D shape {tuple(x.shape)}')
    if not x.is_floating_point():
        raise TypeError(f'{where}: `{name}` must be a floating point tensor '
                        f'with values in [0, data_range], got {x.dtype} '
                        '(convert 8-bit images with .float() / 255)')
    if x.numel() == 0:
        raise ValueError(f'{where}: `{name}` is empty, shape {tuple(x.shape)}')


def check_same_shape(x: Tensor, y: Tensor, names: str, where: str) -> None:
    """Raise unless ``x`` and ``y`` have the same shape, dtype and device."""
    if x.shape != y.shape:
        raise ValueError(f'{where}: {names} must have the same shape, got '
                         f'{tuple(x.shape)} and {tuple(y.shape)}')
    if x.dtype != y.dtype:
        raise TypeError(f'{where}: {names} must have the same dtype, got '
                        f'{x.dtype} and {y.dtype}')
    if x.device != y.device:
        raise ValueError(f'{where}: {names} must be on the same device, got '
                         f'{x.device} and {y.device}')


def check_reduction(reduction: str, where: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f'{where}: `reduction` must be one of {REDUCTIONS}, '
                         f'got {reduction!r}')


def check_weight(value: float, name: str, where: str) -> None:
    """Loss weights are finite and non-negative (0 switches a term off)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f'{where}: `{name}` must be a number, got '
                        f'{type(value).__name__}')
    if not (value >= 0 and value != float('inf')):
        raise ValueError(f'{where}: `{name}` must be finite and >= 0, '
                         f'got {value}')


def reduce(values: Tensor, reduction: str) -> Tensor:
    """Reduce per-sample values of shape (B,) as 'mean', 'sum' or 'none'."""
    if reduction == 'mean':
        return values.mean()
    if reduction == 'sum':
        return values.sum()
    return values
