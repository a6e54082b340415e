# checkpoint_compat first: it allow-lists mmengine's checkpoint globals for
# torch.load(weights_only=True) before anything can load a checkpoint.
from .checkpoint_compat import (mmengine_safe_globals,
                                register_mmengine_safe_globals)
from .autocast_optim_wrapper import AutocastOptimWrapper
from .compile_hook import CompileHook, compile_methods, restore_methods
from .freeze_check_hook import FreezeCheckHook
from .precise_bn_hook import (PreciseBNHook,
                              average_bn_statistics_across_processes,
                              calibration_loader, recompute_bn_statistics)
from .runner_model import runner_model

__all__ = ['register_mmengine_safe_globals', 'mmengine_safe_globals',
           'AutocastOptimWrapper', 'CompileHook', 'compile_methods',
           'restore_methods', 'FreezeCheckHook', 'PreciseBNHook',
           'recompute_bn_statistics', 'calibration_loader', 'runner_model',
           'average_bn_statistics_across_processes']
