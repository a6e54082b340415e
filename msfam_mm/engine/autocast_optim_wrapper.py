"""Mixed precision that also works on CPU (bfloat16 autocast).

mmengine 0.10.7's ``AmpOptimWrapper`` asserts a GPU/NPU/MLU/MUSA device and
uses a CUDA ``GradScaler``, so it cannot run on CPU. bfloat16 has float32's
exponent range, so it needs no loss scaling: an autocast context around the
forward pass is all mixed precision requires. ``tools/train.py --amp`` uses
this wrapper on CPU and mmengine's ``AmpOptimWrapper`` on CUDA.
"""
from contextlib import contextmanager
from typing import Union

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from msfam_mm.registry import OPTIM_WRAPPERS

__all__ = ['AutocastOptimWrapper']


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` running the forward pass under ``torch.autocast``.

    Args:
        dtype: autocast dtype, ``'bfloat16'`` (default; no loss scaling
            needed) or ``'float16'`` only on CUDA (prefer mmengine's
            ``AmpOptimWrapper`` there, it adds loss scaling).
        **kwargs: arguments of ``OptimWrapper`` (``optimizer``, ...).

    Example:
        >>> optim_wrapper = dict(type='AutocastOptimWrapper',
        ...                      dtype='bfloat16',
        ...                      optimizer=dict(type='Adam', lr=1e-4))
    """

    def __init__(self, dtype: Union[str, torch.dtype] = 'bfloat16',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            if dtype not in ('bfloat16', 'float16'):
                raise ValueError(f'AutocastOptimWrapper: dtype must be '
                                 f'"bfloat16" or "float16", got {dtype!r}')
            dtype = getattr(torch, dtype)
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        param = next(model.parameters(), None)
        device_type = param.device.type if param is not None else 'cpu'
        if device_type == 'cpu' and self.cast_dtype != torch.bfloat16:
            raise ValueError('AutocastOptimWrapper: CPU autocast supports '
                             'only bfloat16')
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=self.cast_dtype):
            yield
