"""Hook that keeps frozen parts frozen during stage-2 training.

Section 3.3 / 4.1 of the paper: in the second ("fusion training") stage the
encoder and the Semantic Constraint network have learning rate 0 (frozen),
only the decoder (0.5x lr) and the attention fusion blocks learn. Section 3.5:
the classifier's "parameters are frozen after training", so it must also stay
in eval mode (Runner's loops call ``model.train()`` each epoch).

:class:`FreezeCheckHook` enforces that and fails loudly otherwise:
before every training iteration it puts the ``eval_modules`` into eval mode
and checks that no parameter of ``frozen_modules`` has ``requires_grad=True``;
after every ``interval`` iterations it checks that their parameters and
buffers (BatchNorm running statistics: a frozen classifier run in train mode
would drift without any parameter changing) are bitwise identical to those at
the start of training.
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.hooks import Hook
from torch import nn

from msfam_mm.registry import HOOKS
from .runner_model import runner_model

__all__ = ['FreezeCheckHook']


def _get_submodule(model: nn.Module, name: str) -> nn.Module:
    try:
        return model.get_submodule(name)
    except AttributeError as err:
        raise AttributeError(
            f'FreezeCheckHook: model {type(model).__name__} has no submodule '
            f'{name!r} (frozen_modules/eval_modules)') from err


@HOOKS.register_module()
class FreezeCheckHook(Hook):
    """Keep ``frozen_modules`` frozen and ``eval_modules`` in eval mode.

    Args:
        frozen_modules: dotted submodule names whose parameters must keep
            ``requires_grad=False`` and whose parameters and buffers must
            keep their values
            (default: the stage-2 encoder and classifier).
        eval_modules: dotted submodule names kept in eval mode.
        interval: check the values every ``interval`` iterations
            (the ``requires_grad`` check runs every iteration).

    Raises:
        RuntimeError: a frozen parameter has ``requires_grad=True`` or a
            frozen parameter or buffer changed; the message names it.

    Example:
        >>> custom_hooks = [dict(type='FreezeCheckHook',
        ...                      frozen_modules=('net.encoder', 'classifier'),
        ...                      eval_modules=('classifier',))]
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 frozen_modules: Sequence[str] = ('net.encoder', 'classifier'),
                 eval_modules: Sequence[str] = ('classifier', ),
                 interval: int = 1) -> None:
        if isinstance(frozen_modules, str) or isinstance(eval_modules, str):
            raise TypeError('FreezeCheckHook: frozen_modules and eval_modules '
                            'must be sequences of names, not a string')
        if interval < 1:
            raise ValueError(f'FreezeCheckHook: interval must be >= 1, got '
                             f'{interval}')
        self.frozen_modules = tuple(frozen_modules)
        self.eval_modules = tuple(eval_modules)
        self.interval = interval
        self._snapshot: Optional[Dict[str, torch.Tensor]] = None

    def _frozen_params(self, model: nn.Module):
        for mod_name in self.frozen_modules:
            module = _get_submodule(model, mod_name)
            for name, param in module.named_parameters():
                yield f'{mod_name}.{name}', param

    def _frozen_state(self, model: nn.Module):
        yield from self._frozen_params(model)
        for mod_name in self.frozen_modules:
            module = _get_submodule(model, mod_name)
            for name, buf in module.named_buffers():
                yield f'{mod_name}.{name}', buf

    def _check_requires_grad(self, model: nn.Module) -> None:
        for name, param in self._frozen_params(model):
            if param.requires_grad:
                raise RuntimeError(
                    f'FreezeCheckHook: frozen parameter {name} has '
                    'requires_grad=True; stage 2 must keep the encoder and '
                    'the Semantic Constraint classifier frozen (Sec. 3.3)')

    def before_train(self, runner) -> None:
        model = runner_model(runner)
        self._check_requires_grad(model)
        self._snapshot = {
            name: value.detach().clone()
            for name, value in self._frozen_state(model)
        }

    def before_train_iter(self, runner, batch_idx: int, data_batch=None
                          ) -> None:
        model = runner_model(runner)
        for name in self.eval_modules:
            _get_submodule(model, name).eval()
        self._check_requires_grad(model)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._snapshot is None or not self.every_n_train_iters(
                runner, self.interval):
            return
        model = runner_model(runner)
        for name, value in self._frozen_state(model):
            ref = self._snapshot.get(name)
            if ref is None:
                raise RuntimeError(f'FreezeCheckHook: frozen {name} '
                                   'appeared after training started')
            if not torch.equal(value.detach(), ref.to(value.device)):
                raise RuntimeError(
                    f'FreezeCheckHook: frozen {name} changed at '
                    f'iteration {runner.iter + 1}; an optimizer or code path '
                    'updated a frozen module')
