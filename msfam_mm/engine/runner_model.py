"""The model a Runner trains, without its distributed wrapper."""
from mmengine.model import is_model_wrapper
from torch import nn

__all__ = ['runner_model']


def runner_model(runner) -> nn.Module:
    """``runner.model``, or the module inside it when mmengine wrapped it
    for distributed training (hooks and tools read and load its parts)."""
    model = runner.model
    return model.module if is_model_wrapper(model) else model
