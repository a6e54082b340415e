"""The autocast of a precision name, for inference and training alike."""
import contextlib

import torch

__all__ = ['autocast_context']


def autocast_context(device: torch.device, precision: str):
    """Autocast for ``'bf16'``/``'fp16'``; a no-op context for ``'fp32'``.

    Example:
        >>> with autocast_context(torch.device('cpu'), 'bf16'):
        ...     y = torch.nn.Linear(2, 2)(torch.ones(1, 2))
        >>> y.dtype
        torch.bfloat16
    """
    if precision == 'fp32':
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == 'bf16' else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
