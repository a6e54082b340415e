"""Weights-only checkpoint loading (no arbitrary code execution).

Every checkpoint msfam_mm reads goes through :func:`load_checkpoint_safe`,
which always calls ``torch.load(..., weights_only=True)``. The globals that
genuine mmengine checkpoints contain are allow-listed by
:mod:`msfam_mm.engine.checkpoint_compat` (imported here, so the allow-list is
in place even when this module is imported on its own).
"""
import glob
import os
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from msfam_mm.engine.checkpoint_compat import register_mmengine_safe_globals

__all__ = ['load_checkpoint_safe', 'get_state_dict', 'load_submodule_weights',
           'resolve_checkpoint_path', 'prefixed_or_bare_state_dict',
           'load_model_weights', 'parts_with_parameters',
           'load_checked_state_dict']

PathLike = Union[str, os.PathLike]


def resolve_checkpoint_path(path: PathLike) -> str:
    """Return ``path``, or the single file a glob pattern in it matches.

    mmengine names best checkpoints ``best_<key>_epoch_<n>.pth``, so configs
    refer to them with a pattern such as ``best_constraint_accuracy_*.pth``.

    Raises:
        FileNotFoundError: nothing matches; ValueError: several files match.
    """
    path = os.fspath(path)
    if not glob.has_magic(path):
        return path
    matches = sorted(glob.glob(path))
    if not matches:
        raise FileNotFoundError(f'no checkpoint file matches {path!r}')
    if len(matches) > 1:
        raise ValueError(f'checkpoint pattern {path!r} matches several files '
                         f'{matches}; give one explicitly')
    return matches[0]


def load_checkpoint_safe(path: PathLike, map_location='cpu') -> dict:
    """Load a checkpoint file with ``torch.load(weights_only=True)``.

    Args:
        path: checkpoint file (an mmengine checkpoint or a plain state dict).
        map_location: passed to ``torch.load``; ``'cpu'`` by default so a GPU
            checkpoint loads anywhere.

    Returns:
        The unpickled object (a dict for every checkpoint msfam_mm writes).

    Raises:
        FileNotFoundError: the file does not exist.
        RuntimeError: the file is not a loadable weights-only checkpoint (a
            malicious or foreign pickle global, a truncated file ...); the
            message names the file and torch's reason.

    Example:
        >>> from msfam_mm.utils import load_checkpoint_safe
        >>> ckpt = load_checkpoint_safe('work_dirs/msfam_stage1/iter_10090.pth')
        >>> sorted(ckpt)[:2]
        ['message_hub', 'meta']
    """
    register_mmengine_safe_globals()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file {path!r} does not exist')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001
        # any failure names the file: a refused global (UnpicklingError), a
        # truncated zip, or a file that is no checkpoint at all (torch.load
        # of a text file raises KeyError, IndexError, ... from its unpickler)
        found = re.search(r'Unsupported global: GLOBAL (\S+)', str(err))
        if found:
            # torch's own text is a page of advice on allow-listing the
            # class, which is what must not be done for an unknown file
            raise RuntimeError(
                f'checkpoint {path!r} holds more than tensors (a pickled '
                f'{found.group(1)}); msfam_mm loads weights only and does not '
                'run code from a file: save its state_dict alone where you '
                'trust it') from None
        raise RuntimeError(
            f'cannot load checkpoint {path!r} with weights_only=True '
            f'(refused or corrupt): {_load_reason(err)}') from err


def _load_reason(err: Exception) -> str:
    """The line of a torch.load error that says why: the unpickler's own
    reason when torch wraps it in its page of advice, else the first line."""
    text = str(err)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        reason = text.split(marker, 1)[1].split('Check the documentation')[0]
        reason = ' '.join(reason.split())
        if reason:
            return reason
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def get_state_dict(checkpoint: dict, path: Optional[PathLike] = None
                   ) -> 'OrderedDict[str, torch.Tensor]':
    """Return the state dict of an mmengine checkpoint or a bare state dict.

    ``path`` is only used in error messages.
    """
    where = f'checkpoint {os.fspath(path)!r}' if path is not None else \
        'checkpoint'
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{where} holds a {type(checkpoint).__name__}, '
                        'expected a dict')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise TypeError(f'{where} has no tensor state dict (keys: '
                        f'{sorted(checkpoint)[:8]})')
    return OrderedDict(state)


def prefixed_or_bare_state_dict(path: PathLike, prefix: str
                                ) -> 'OrderedDict[str, torch.Tensor]':
    """One module's weights from a training checkpoint or a bare state dict.

    If any key of the file's state dict starts with ``prefix`` (an mmengine
    checkpoint of the whole model, e.g. ``net.`` or ``classifier.``), the
    weights under it are returned with the prefix stripped; otherwise the
    file is taken as the module's own state dict (the shipped fp16 files).
    Floating-point tensors are cast to float32, others kept.
    """
    path = os.fspath(path)
    state = get_state_dict(load_checkpoint_safe(path), path)
    if any(k.startswith(prefix) for k in state):
        state = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                            if k.startswith(prefix))
    return OrderedDict((k, v.float() if v.is_floating_point() else v)
                       for k, v in state.items())


def load_checked_state_dict(module: nn.Module,
                            state: Mapping[str, torch.Tensor],
                            path: PathLike,
                            missing: Sequence[str] = (),
                            unexpected: Sequence[str] = (),
                            hint: str = '') -> None:
    """Load ``state`` into ``module`` after the checks every loader shares.

    The one mechanism behind :func:`load_submodule_weights`,
    :func:`load_model_weights` and
    :func:`msfam_mm.apis.model_loading.load_net_weights`: each decides which
    keys its kind of file must and must not hold and passes the offending
    ones here; every key of ``state`` that ``module`` has is then loaded
    (cast to the module's dtype) once all shapes agree.

    Args:
        module: the module receiving the weights.
        state: weights named as in ``module.state_dict()``.
        path: the file they came from (named in every error).
        missing: keys of ``module`` the caller requires but ``state`` lacks.
        unexpected: keys of ``state`` the caller forbids.
        hint: appended to the key-mismatch message (what to check).

    Raises:
        KeyError: ``missing`` or ``unexpected`` is not empty.
        RuntimeError: a tensor's shape differs from the module's.
    """
    where, name = os.fspath(path), type(module).__name__
    if missing or unexpected:
        raise KeyError(
            f'checkpoint {where!r} does not match {name}: missing '
            f'{list(missing[:4])} ({len(missing)}), unexpected '
            f'{list(unexpected[:4])} ({len(unexpected)}){hint}')
    own = module.state_dict()
    loaded = OrderedDict((k, v) for k, v in state.items() if k in own)
    for k, v in loaded.items():
        if own[k].shape != v.shape:
            raise RuntimeError(
                f'checkpoint {where!r}: {k} has shape {tuple(v.shape)}, '
                f'{name} expects {tuple(own[k].shape)}')
    module.load_state_dict(
        OrderedDict((k, v.to(own[k].dtype)) for k, v in loaded.items()),
        strict=False)


def load_submodule_weights(module: nn.Module,
                           path: PathLike,
                           src_prefix: str = '',
                           strict: bool = True,
                           bare_ok: bool = False) -> Dict[str, list]:
    """Load the weights stored under ``src_prefix`` of a checkpoint.

    Keys ``src_prefix + name`` of the checkpoint's state dict are loaded into
    ``module`` as ``name`` (e.g. ``src_prefix='net.'`` takes the
    ``MSFAMNet`` weights out of a stage-1 ``MSFAMReconstructor`` checkpoint).

    Args:
        module: the module receiving the weights.
        path: checkpoint file (or a glob pattern matching exactly one),
            read with :func:`load_checkpoint_safe`.
        src_prefix: key prefix selecting (and stripped from) the weights.
        strict: if True, every key of ``module`` must be present and no
            selected checkpoint key may be unused.
        bare_ok: also accept a file holding ``module``'s own bare state dict
            (no key starts with ``src_prefix`` and every key is one of
            ``module``'s), as the shipped fp16 files are.

    Returns:
        dict with ``missing_keys`` and ``unexpected_keys`` (both empty when
        ``strict``).

    Raises:
        KeyError: no key starts with ``src_prefix``, or (strict) keys are
            missing/unexpected; the message names the file.
        RuntimeError: a tensor shape differs (message names the file).
    """
    path = resolve_checkpoint_path(path)
    state = get_state_dict(load_checkpoint_safe(path), path)
    selected = OrderedDict((k[len(src_prefix):], v) for k, v in state.items()
                           if k.startswith(src_prefix))
    if not selected and bare_ok and state and \
            set(state) <= set(module.state_dict()):
        selected = state
    if not selected:
        raise KeyError(
            f'checkpoint {os.fspath(path)!r} has no weights with prefix '
            f'{src_prefix!r} (first keys: {list(state)[:5]})')
    own = module.state_dict()
    missing = [k for k in own if k not in selected]
    unexpected = [k for k in selected if k not in own]
    load_checked_state_dict(
        module, selected, path, missing if strict else (),
        unexpected if strict else (), hint=f' (prefix {src_prefix!r})')
    return dict(missing_keys=missing, unexpected_keys=unexpected)


def parts_with_parameters(model: nn.Module) -> List[str]:
    """Names of ``model``'s top-level children that hold parameters."""
    return [n for n, m in model.named_children()
            if any(True for _ in m.parameters())]


def load_model_weights(model: nn.Module, path: PathLike,
                       required: Optional[Sequence[str]] = None
                       ) -> List[str]:
    """Load a checkpoint into a whole model for evaluation, strictly.

    Accepts an mmengine checkpoint of ``model`` itself (keys such as
    ``net.encoder.*``) or the bare state dict of one of its top-level parts,
    as the shipped fp16 files are (``checkpoints/``: the ``MSFAMNet`` of a
    ``MSFAMFusion``, the classifier of a ``SemanticConstraintModel``). Every
    weight of each part the file covers must be in it with the right shape,
    and the file may hold nothing else; parts it does not cover keep their
    weights, but the parts in ``required`` must be covered. mmengine's own
    ``load_from`` only warns about mismatches and would evaluate an
    untrained network.

    Args:
        model: the built model (not a DDP wrapper).
        path: checkpoint file (or a glob pattern matching exactly one),
            read with :func:`load_checkpoint_safe`.
        required: top-level parts the file must hold; by default the
            model's ``predict_parts`` attribute if it has one (``MSFAMFusion``:
            the network, not the classifier that only its training loss
            uses), else every part with parameters.

    Returns:
        The names of the top-level parts that were loaded.

    Raises:
        KeyError: the file matches neither the model nor one of its parts,
            a covered part lacks weights, or a required part is not in it;
            the message names the file.
        RuntimeError: a tensor shape differs (message names the file).

    Example:
        >>> from mmengine.registry import init_default_scope
        >>> from msfam_mm.models.architectures import SemanticConstraintModel
        >>> init_default_scope('msfam_mm')
        >>> model = SemanticConstraintModel()
        >>> load_model_weights(
        ...     model, 'checkpoints/msfam_cpu_classifier_fp16.pth')
        ['classifier']
    """
    path = resolve_checkpoint_path(path)
    state = get_state_dict(load_checkpoint_safe(path), path)
    own = model.state_dict()
    name = type(model).__name__
    if not any(k in own for k in state):
        parts = [n for n, _ in model.named_children()
                 if all(f'{n}.{k}' in own for k in state)]
        if len(parts) != 1:
            raise KeyError(
                f'checkpoint {os.fspath(path)!r} matches neither {name} nor '
                f'one of its parts {[n for n, _ in model.named_children()]}'
                f' (first keys: {list(state)[:4]})')
        state = OrderedDict((f'{parts[0]}.{k}', v) for k, v in state.items())
    unexpected = [k for k in state if k not in own]
    covered = sorted({k.split('.', 1)[0] for k in state if k in own})
    missing = [k for k in own
               if k.split('.', 1)[0] in covered and k not in state]
    if required is None:
        required = getattr(model, 'predict_parts', None) or \
            parts_with_parameters(model)
    absent = [p for p in required if p not in covered]
    if absent and not (missing or unexpected):
        raise KeyError(
            f'checkpoint {os.fspath(path)!r} holds the {covered} weights of '
            f'{name}, not its {absent}; is it a checkpoint of this config?')
    load_checked_state_dict(
        model, state, path, missing, unexpected,
        hint=f' (parts {covered}); is it a checkpoint of this config?')
    return covered
