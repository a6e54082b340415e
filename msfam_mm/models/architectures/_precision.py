"""Losses in float32 when the forward pass runs under autocast.

``tools/train.py --amp`` runs the network in bfloat16 (CPU) or float16
(CUDA). The losses of Eqs. 1, 2 and 8 are not: SSIM and MS-SSIM subtract
nearly equal local moments, and Eq. 8 takes the log of probabilities near
1, where bfloat16 has a resolution of 2^-8. So the network output is cast
to float32 and every loss (the frozen classifier of Eq. 8 included) runs
with autocast switched off.
"""
from contextlib import contextmanager

import torch

__all__ = ['float32_losses']


@contextmanager
def float32_losses(tensor: torch.Tensor):
    """Disable autocast on ``tensor``'s device for the enclosed losses."""
    with torch.autocast(device_type=tensor.device.type, enabled=False):
        yield
