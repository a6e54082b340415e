"""Train the network under ``torch.compile``, validate it eagerly.

Eager PyTorch spends most of an MSFAM training step on the memory-bound
work around the convolutions (instance norms, concatenations, activations,
layout reorders), which a graph compiler fuses (docs/benchmarks.md,
"Training step"). mmengine's own ``compile`` setting compiles the whole
``train_step``, losses included; measured here that was slower than eager
(the SSIM/MS-SSIM losses of Eqs. 1 and 2 run as many small Gaussian
convolutions that Inductor handles worse than oneDNN). So this hook
compiles the network methods a training step calls and nothing else.

The compiled functions replace the methods on the module *instances*
(``setattr(module, 'forward', torch.compile(module.forward))``), so the
state dict, the checkpoints and the optimizer's parameter groups are the
ones of the eager model. Validation runs on whole images of every size;
each new size would recompile, so the eager methods are put back for
validation and testing and the compiled ones reinstated after it.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
from mmengine.hooks import Hook
from torch import nn

from msfam_mm.registry import HOOKS
from .runner_model import runner_model

__all__ = ['CompileHook', 'compile_methods', 'restore_methods',
           'training_targets']

#: what each training model calls on every step (its hot path)
DEFAULT_METHODS = {
    'MSFAMReconstructor': ('net.reconstruct', ),
    'MSFAMFusion': ('net.forward', 'classifier.forward',
                    'classifier.forward_logits'),
    'SemanticConstraintModel': ('classifier.forward_logits', ),
}


def _owner_and_name(model: nn.Module, target: str) -> Tuple[nn.Module, str]:
    module_name, _, method = target.rpartition('.')
    try:
        owner = model.get_submodule(module_name) if module_name else model
    except AttributeError as err:
        raise ValueError(f'compile: {type(model).__name__} has no submodule '
                         f'{module_name!r} (method {target!r})') from err
    if not callable(getattr(owner, method, None)):
        raise ValueError(f'compile: {type(owner).__name__} '
                         f'({module_name or "the model"}) has no method '
                         f'{method!r} (target {target!r})')
    return owner, method


def compile_methods(model: nn.Module,
                    targets: Sequence[str],
                    options: Optional[dict] = None) -> Dict[str, Callable]:
    """Replace each dotted method of ``model`` by its ``torch.compile``.

    Args:
        model: the module (unwrapped from DDP).
        targets: dotted names such as ``'net.forward'``.
        options: keyword arguments of ``torch.compile``.

    Returns:
        The instance attributes the methods had before (``None`` entries
        for methods that came from the class), for :func:`restore_methods`.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3))
        >>> saved = compile_methods(net, ['forward'])
        >>> restore_methods(net, saved)
    """
    saved = {}
    for target in targets:
        owner, method = _owner_and_name(model, target)
        saved[target] = owner.__dict__.get(method)
        eager = getattr(owner, method)
        setattr(owner, method, torch.compile(eager, **(options or {})))
    return saved


def restore_methods(model: nn.Module, saved: Dict[str, Callable]) -> None:
    """Undo :func:`compile_methods` (the eager methods come back)."""
    for target, previous in saved.items():
        owner, method = _owner_and_name(model, target)
        if previous is None:
            owner.__dict__.pop(method, None)
        else:
            setattr(owner, method, previous)


def training_targets(model: nn.Module) -> Tuple[str, ...]:
    """The hot-path methods of a known training model (DEFAULT_METHODS),
    less the classifier's when no loss term runs it (stage 2 with
    alpha_2 = 0)."""
    name = type(model).__name__
    if name not in DEFAULT_METHODS:
        raise ValueError(f'CompileHook: no default methods for {name}; give '
                         f'methods=(...) (known: {sorted(DEFAULT_METHODS)})')
    targets = DEFAULT_METHODS[name]
    loss = getattr(model, 'loss_module', None)
    if getattr(loss, 'constraint_weight', 1.0) <= 0:
        targets = tuple(t for t in targets if not t.startswith('classifier.'))
    return targets


@HOOKS.register_module()
class CompileHook(Hook):
    """Compile the model's hot-path methods for training only.

    Args:
        methods: dotted method names of the model to compile; ``None``
            takes :data:`DEFAULT_METHODS` for the model's class.
        options: keyword arguments of ``torch.compile`` (default:
            ``dynamic=False``: the training crops have one size).
        enabled: ``False`` keeps the hook in the config but trains eagerly
            (``tools/train.py ... --cfg-options
            custom_hooks.N.enabled=False``; ``tools/train_all.py --eager``
            leaves the hook out).

    Example:
        >>> custom_hooks = [dict(type='CompileHook')]
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 methods: Optional[Sequence[str]] = None,
                 options: Optional[dict] = None,
                 enabled: bool = True) -> None:
        self.methods = tuple(methods) if methods is not None else None
        self.options = dict(dynamic=False) if options is None else options
        self.enabled = enabled
        self._saved: Optional[Dict[str, Callable]] = None
        self._compiled: Dict[str, Callable] = {}

    def before_train(self, runner) -> None:
        if not self.enabled:
            return
        model = runner_model(runner)
        targets = self.methods or training_targets(model)
        self._saved = compile_methods(model, targets, self.options)
        self._compiled = {
            t: getattr(*_owner_and_name(model, t)) for t in targets}
        runner.logger.info(
            f'CompileHook: torch.compile({", ".join(targets)}) with '
            f'{self.options}; the first iteration compiles (minutes on a '
            'CPU), validation runs eagerly')

    def _to_eager(self, runner) -> None:
        if self._saved is not None:
            restore_methods(runner_model(runner), self._saved)

    def _to_compiled(self, runner) -> None:
        if self._saved is None:
            return
        model = runner_model(runner)
        for target, fn in self._compiled.items():
            owner, method = _owner_and_name(model, target)
            setattr(owner, method, fn)

    def before_val_epoch(self, runner) -> None:
        self._to_eager(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._to_compiled(runner)

    def before_test_epoch(self, runner) -> None:
        self._to_eager(runner)

    def after_train(self, runner) -> None:
        self._to_eager(runner)
        self._saved = None
