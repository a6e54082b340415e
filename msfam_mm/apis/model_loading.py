"""Build an :class:`~msfam_mm.models.networks.MSFAMNet` from a config and
load its weights from a checkpoint, without executing pickled code.

Accepted configs: a stage-1/stage-2 training config (``model`` is an
``MSFAMReconstructor``/``MSFAMFusion`` whose ``net`` is the ``MSFAMNet``),
or a config whose ``model`` is an ``MSFAMNet`` itself.

Accepted checkpoints: an mmengine checkpoint (``state_dict`` keys prefixed
``net.``, plus ``classifier.`` which inference ignores) or a bare
``MSFAMNet`` state dict, in fp32 or fp16 (the shipped weights are an fp16
state dict; they are cast to the parameters' fp32 on load).

Example:
    >>> net = load_msfam_net('configs/msfam_stage2.py',
    ...                      'work_dirs/msfam_stage2/best.pth')  # doctest: +SKIP
"""
import copy
import os
from collections import OrderedDict
from typing import Dict, Iterable, Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from ..registry import MODELS
from ..utils import load_checked_state_dict, prefixed_or_bare_state_dict
from ..utils.hashing import file_sha256  # noqa: F401 (re-exported)

ConfigLike = Union[str, os.PathLike, Config, dict]

# The shipped weights (checkpoints/README.md: how they were trained, sha256)
# live beside the package in a source checkout / editable install; the
# ``msfam`` method uses them when no config or checkpoint is given.
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_MSFAM_CONFIG = os.path.join(_REPO_ROOT, 'configs', 'msfam_stage2.py')
DEFAULT_MSFAM_CHECKPOINT = os.path.join(_REPO_ROOT, 'checkpoints',
                                        'msfam_cpu_stage2_fp16.pth')


def _net_config(config: ConfigLike) -> dict:
    if isinstance(config, (str, os.PathLike)):
        path = os.fspath(config)
        if not os.path.isfile(path):
            raise FileNotFoundError(f'config file {path!r} does not exist')
        config = Config.fromfile(path)
    model = config.get('model') if hasattr(config, 'get') else None
    if model is None:
        raise KeyError(f'config {config!r:.80} has no `model` entry')
    model = copy.deepcopy(dict(model))
    if model.get('type') == 'MSFAMNet':
        return model
    net = model.get('net')
    if isinstance(net, dict) and net.get('type') == 'MSFAMNet':
        return dict(net)
    raise KeyError(
        f"config model of type {model.get('type')!r} has no MSFAMNet: "
        "expected model.type == 'MSFAMNet' or model.net.type == 'MSFAMNet' "
        '(configs/msfam_stage1.py, configs/msfam_stage2.py)')


def build_msfam_net(config: ConfigLike,
                    with_fusion: Optional[bool] = None) -> nn.Module:
    """Build the (randomly initialised) MSFAMNet described by ``config``.

    ``with_fusion`` overrides the config's value (the NestFuse-strategy
    baseline only needs the encoder and decoder).
    """
    import msfam_mm.models  # noqa: F401  registers MSFAMNet
    cfg = _net_config(config)
    if with_fusion is not None:
        cfg['with_fusion'] = with_fusion
    # mmengine builds in the current default scope's registry; in a process
    # where MMDetection set its scope (a detection run, a test session) that
    # registry does not hold msfam_mm's networks
    with DefaultScope.overwrite_default_scope('msfam_mm'):
        return MODELS.build(cfg)


def net_state_dict(checkpoint: Union[str, os.PathLike]
                   ) -> 'OrderedDict[str, torch.Tensor]':
    """The MSFAMNet weights of a checkpoint file (``net.`` prefix stripped
    when present), as float32 tensors on the CPU."""
    return prefixed_or_bare_state_dict(checkpoint, 'net.')


def load_net_weights(net: nn.Module, checkpoint: Union[str, os.PathLike],
                     required_prefixes: Iterable[str] = ('',)) -> Dict:
    """Load a checkpoint into ``net``.

    Every parameter/buffer of ``net`` whose name starts with one of
    ``required_prefixes`` must be in the checkpoint with the same shape;
    other keys of ``net`` may be absent (e.g. the fusion blocks when a
    stage-1 checkpoint feeds the NestFuse-strategy baseline) and checkpoint
    keys that ``net`` lacks are ignored only if they fall outside those
    prefixes.

    Returns:
        dict with the ``missing_keys`` and ``ignored_keys`` lists.
    """
    path = os.fspath(checkpoint)
    state = net_state_dict(path)
    own = net.state_dict()
    prefixes = tuple(required_prefixes)
    required = [k for k in own if k.startswith(prefixes)]
    load_checked_state_dict(
        net, OrderedDict((k, state[k]) for k in required if k in state), path,
        missing=[k for k in required if k not in state],
        unexpected=[k for k in state
                    if k not in own and k.startswith(prefixes)],
        hint='; is it a checkpoint of this config (stage 2 for msfam)?')
    return dict(missing_keys=[k for k in own if k not in required],
                ignored_keys=[k for k in state if k not in required])


def load_msfam_net(config: ConfigLike, checkpoint: Union[str, os.PathLike],
                   with_fusion: Optional[bool] = None,
                   required_prefixes: Iterable[str] = ('',)) -> nn.Module:
    """Build from ``config``, load ``checkpoint``, return the net in eval
    mode on the CPU."""
    if checkpoint is None:
        raise ValueError('load_msfam_net: a checkpoint is required')
    path = os.fspath(checkpoint)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file {path!r} does not exist')
    net = build_msfam_net(config, with_fusion)
    load_net_weights(net, path, required_prefixes)
    return net.eval()
