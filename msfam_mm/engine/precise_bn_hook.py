"""Recompute BatchNorm statistics before each validation ("precise BN").

The Semantic Constraint classifier (Section 3.5) has BatchNorm after each
conv (docs/architecture.md). Its running statistics are an exponential
average over the last ~10 training batches (momentum 0.1), taken while the
weights still move, so at a validation they can be far from the statistics
of the current weights. On this project's CPU schedule the held-out exact
match of a 9000-iteration run swung between checks (61.9, 57.1, 40.0,
65.7, 44.8, 42.9, 53.3, 77.1, 74.3 % every 1000 iterations); recomputing
the statistics over 60 training batches (``tools/test.py --precise-bn
60``) moved its last checkpoint from 74.3 to 77.1 % and its best from 77.1
to 80.0 % (docs/training.md, "Classifier: BatchNorm statistics and
length").

:class:`PreciseBNHook` resets the running statistics of every BatchNorm
layer and recomputes them as a plain average over ``num_batches`` training
batches, with the current weights and no gradient, before every validation
during training. The best checkpoint (saved after validation) therefore
holds the statistics it was validated with.
"""
import copy
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop
from torch import nn

from msfam_mm.registry import HOOKS
from .runner_model import runner_model

__all__ = ['PreciseBNHook', 'recompute_bn_statistics', 'calibration_loader',
           'average_bn_statistics_across_processes']


def _tracked_bn_layers(model: nn.Module, training_only: bool = False):
    """The BatchNorm layers of ``model`` that keep running statistics
    (only those in training mode with ``training_only``)."""
    return [m for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)
            and m.track_running_stats and (m.training or not training_only)]


def recompute_bn_statistics(model: nn.Module, batches,
                            num_batches: int) -> int:
    """Replace the BatchNorm running statistics of ``model`` with the plain
    mean over ``num_batches`` batches.

    Only the layers that are in training mode after ``model.train()`` and
    that the forward pass reaches are recomputed; frozen parts a model keeps
    in eval mode (the stage-2 classifier) keep theirs.

    Args:
        model: an mmengine ``BaseModel`` (its ``data_preprocessor`` prepares
            each batch; ``mode='tensor'`` runs the forward pass).
        batches: an iterable of dataloader batches.
        num_batches: how many batches to average (fewer if ``batches`` ends
            first).

    Returns:
        The number of batches used.

    Raises:
        ValueError: ``model`` has no BatchNorm layer in training mode, the
            forward pass reaches none, or ``batches`` is empty (statistics
            then unchanged).

    Example:
        >>> from mmengine.registry import init_default_scope
        >>> from msfam_mm.models.architectures import SemanticConstraintModel
        >>> init_default_scope('msfam_mm')
        >>> model = SemanticConstraintModel()
        >>> batch = dict(inputs=[torch.rand(1, 32, 32)], data_samples=None)
        >>> recompute_bn_statistics(model, [batch] * 3, num_batches=2)
        2
    """
    was_training = model.training
    model.train()
    # Only layers that train: a model may keep frozen parts in eval mode
    # (MSFAMFusion's classifier, Section 3.5), whose statistics must stay.
    bns = _tracked_bn_layers(model, training_only=True)
    if not bns:
        model.train(was_training)
        raise ValueError(f'PreciseBNHook: {type(model).__name__} has no '
                         'BatchNorm layer in training mode whose statistics '
                         'could be recomputed')
    saved = [copy.deepcopy(bn.state_dict()) for bn in bns]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches below
    used = 0
    try:
        with torch.no_grad():
            for batch in batches:
                if used == num_batches:
                    break
                data = model.data_preprocessor(batch, True)
                model(data['inputs'], data['data_samples'], mode='tensor')
                used += 1
    finally:
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        model.train(was_training)
    # a layer the forward pass did not reach keeps its statistics
    unreached = [bn for bn in bns if int(bn.num_batches_tracked) == 0]
    for bn, state in zip(bns, saved):
        if bn in unreached or used == 0:
            bn.load_state_dict(state)
    if used == 0:
        raise ValueError('PreciseBNHook: the dataloader gave no batch')
    if len(unreached) == len(bns):
        raise ValueError(f'PreciseBNHook: the forward pass of '
                         f'{type(model).__name__} reached none of its '
                         'BatchNorm layers; their statistics are unchanged')
    return used


def average_bn_statistics_across_processes(model: nn.Module) -> int:
    """Average the BatchNorm running statistics over the processes of a
    distributed run (each recomputed them on its own batches; mmengine's
    wrapper does not broadcast buffers), so that every process validates,
    and the best checkpoint saves, the same statistics. Returns the number
    of layers averaged (0 in a single process)."""
    from mmengine.dist import all_reduce, get_world_size
    if get_world_size() < 2:
        return 0
    bns = _tracked_bn_layers(model)
    for bn in bns:
        all_reduce(bn.running_mean, op='mean')
        all_reduce(bn.running_var, op='mean')
    return len(bns)


def calibration_loader(runner, dataloader: Optional[dict] = None):
    """The dataloader whose batches :func:`recompute_bn_statistics` averages:
    ``dataloader`` (a config) if given, else the run's ``train_dataloader``
    config with ``num_workers=0`` (no extra worker processes; the training
    loop's own iterator is left untouched), seeded with the run's seed."""
    if dataloader is None:
        dataloader = dict(runner.cfg.train_dataloader, num_workers=0,
                          persistent_workers=False)
    return runner.build_dataloader(dataloader, seed=runner.seed)


@HOOKS.register_module()
class PreciseBNHook(Hook):
    """Recompute BatchNorm statistics over training batches before every
    validation during training.

    Args:
        num_batches (int): training batches to average (60 in the
            measurement of the module docstring).
        dataloader (dict | None): dataloader config for those batches;
            ``None`` (default): the run's training data
            (:func:`calibration_loader`).

    In a distributed run each process averages its own batches, then the
    statistics are averaged over the processes. Periodic checkpoints are
    written before the validation that follows them and keep the running
    averages of training; the best checkpoint holds the recomputed
    statistics.

    Example:
        >>> custom_hooks = [dict(type='PreciseBNHook', num_batches=60)]
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, num_batches: int = 60,
                 dataloader: Optional[dict] = None) -> None:
        if not isinstance(num_batches, int) or num_batches < 1:
            raise ValueError('PreciseBNHook: num_batches must be a positive '
                             f'int, got {num_batches!r}')
        self.num_batches = num_batches
        self.dataloader_cfg = dataloader
        self._loader = None

    def _batches(self, runner):
        if self._loader is None:
            self._loader = calibration_loader(runner, self.dataloader_cfg)
        return self._loader

    def before_val_epoch(self, runner) -> None:
        # only during training: runner.val() alone has no built train loop
        # (reading runner.train_loop would build one)
        if not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return
        model = runner_model(runner)
        used = recompute_bn_statistics(model, self._batches(runner),
                                       self.num_batches)
        average_bn_statistics_across_processes(model)
        runner.logger.info(f'PreciseBNHook: BatchNorm statistics recomputed '
                           f'over {used} training batches')
