# checkpoint_compat first: it allow-lists mmengine's checkpoint globals for
# torch.load(weights_only=True) before anything can load a checkpoint.
from .checkpoint_compat import (mmengine_safe_globals,
                                register_mmengine_safe_globals)
from .autocast_optim_wrapper import AutocastOptimWrapper
from .freeze_check_hook import FreezeCheckHook

__all__ = ['register_mmengine_safe_globals', 'mmengine_safe_globals',
           'AutocastOptimWrapper', 'FreezeCheckHook']
