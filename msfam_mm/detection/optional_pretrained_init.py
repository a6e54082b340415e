"""Load ImageNet backbone weights from a local file, and say what happens
when they are missing: stop (``if_missing='error'``) or train from scratch
(``if_missing='scratch'``).

The paper trains GFLV2 "with an ImageNet pretrained Resnet50 backbone"
(Section 4.4). MMDetection's ``Pretrained`` initializer downloads
``torchvision://resnet50`` and crashes without internet access or without
torchvision. This initializer looks for the weights locally instead (a file
path, or the torch hub cache where ``torch.hub`` stores downloads), never
downloads unless asked, and never executes code from the file
(``torch.load(weights_only=True)``).

The paper configs set ``if_missing='error'``: without the weights the run
stops before training, naming the file it looked for and how to get it,
unless told to train from scratch (``tools/train.py --from-scratch``, which
sets ``if_missing='scratch'`` through :func:`allow_training_from_scratch`).
From scratch, the backbone keeps the initialisation applied before this
initializer in ``init_cfg`` (the configs list MMDetection's default ResNet
initialisation first) and, because a frozen random stem or frozen BatchNorm
statistics cannot learn, ``frozen_stages`` and ``norm_eval`` are switched
off (``unfreeze_on_scratch=True``).
"""
import os
import os.path as osp
from typing import Optional, Tuple
from urllib.parse import urlparse

import mmengine
import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner.checkpoint import load_state_dict
from torch import nn

TORCHVISION_PREFIX = 'torchvision://'
#: What :class:`OptionalPretrainedInit` does when the weights are missing.
IF_MISSING = ('error', 'scratch')


def torchvision_url(name: str) -> Optional[str]:
    """URL of a torchvision model's weights without importing torchvision.

    mmengine ships the torchvision 0.12 URL table (``hub/torchvision_0.12.json``;
    ``resnet50`` maps to the IMAGENET1K_V1 weights MMDetection's configs
    use); newer names are resolved through torchvision when it is installed.
    """
    table = mmengine.load(
        osp.join(osp.dirname(mmengine.__file__), 'hub',
                 'torchvision_0.12.json'))
    if name in table:
        return table[name]
    try:
        from mmengine.runner.checkpoint import get_torchvision_models
        return get_torchvision_models().get(name)
    except ImportError:
        return None


def hub_cache_path(url: str) -> str:
    """Where ``torch.hub.load_state_dict_from_url`` caches ``url``."""
    return osp.join(torch.hub.get_dir(), 'checkpoints',
                    osp.basename(urlparse(url).path))


def resolve_checkpoint(checkpoint: str,
                       download: bool = False) -> Tuple[Optional[str], str]:
    """Find a local file for ``checkpoint``.

    Args:
        checkpoint (str): ``torchvision://NAME``, an ``http(s)://`` URL or a
            local path.
        download (bool): Download URLs that are not cached yet.

    Returns:
        tuple: ``(path, reason)``; ``path`` is None when the weights are not
        available, ``reason`` says why.

    Raises:
        FileNotFoundError: ``checkpoint`` is a local path that does not
            exist (an explicit file request is not silently ignored).
    """
    if checkpoint.startswith(TORCHVISION_PREFIX):
        name = checkpoint[len(TORCHVISION_PREFIX):]
        url = torchvision_url(name)
        if url is None:
            return None, (f'{checkpoint}: unknown model name {name!r} '
                          '(not in mmengine/hub/torchvision_0.12.json and '
                          'torchvision is unavailable or does not know it)')
    elif checkpoint.startswith(('http://', 'https://')):
        url = checkpoint
    else:
        path = osp.expanduser(checkpoint)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'backbone init_cfg: checkpoint file {path} does not exist')
        return path, 'local file'
    cached = hub_cache_path(url)
    if osp.isfile(cached):
        return cached, f'torch hub cache ({url})'
    if download:
        os.makedirs(osp.dirname(cached), exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, cached, progress=False)
        except Exception as err:  # no network, HTTP error, ...
            return None, f'download of {url} failed: {err}'
        return cached, f'downloaded from {url}'
    return None, (f'{checkpoint} is not in the torch hub cache ({cached}) '
                  'and download=False')


@WEIGHT_INITIALIZERS.register_module(name='PretrainedIfAvailable')
class OptionalPretrainedInit:
    """Initializer that loads pretrained weights only when they are present.

    Use it as the last entry of a backbone's ``init_cfg`` list, after the
    from-scratch initialisation (mmengine runs the entries in order and
    treats only ``type='Pretrained'`` specially). Weights that are found are
    always loaded.

    Args:
        checkpoint (str): ``torchvision://NAME``, URL or local file.
        prefix (str, optional): Load only keys starting with this prefix
            (stripped), e.g. ``'backbone.'`` from a detector checkpoint.
        download (bool): Try to download uncached URLs. Defaults to False
            (offline machines fail slowly on network calls).
        unfreeze_on_scratch (bool): When the weights are missing, set the
            module's ``frozen_stages=-1``/``norm_eval=False`` (if it has
            them) and make every parameter trainable. Defaults to True.
        if_missing (str): When the weights are missing: ``'scratch'``
            (default) keeps the from-scratch initialisation with a WARNING;
            ``'error'`` raises :class:`FileNotFoundError` naming the file
            looked for and how to provide it (the paper configs).

    Example:
        >>> cfg = dict(type='ResNet', depth=50, frozen_stages=1,
        ...            norm_eval=True, init_cfg=[
        ...                dict(type='Kaiming', layer='Conv2d'),
        ...                dict(type='PretrainedIfAvailable',
        ...                     checkpoint='torchvision://resnet50')])
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 download: bool = False,
                 unfreeze_on_scratch: bool = True,
                 if_missing: str = 'scratch') -> None:
        if not isinstance(checkpoint, str) or not checkpoint:
            raise ValueError('PretrainedIfAvailable: checkpoint must be a '
                             f'non-empty string, got {checkpoint!r}')
        if if_missing not in IF_MISSING:
            raise ValueError('PretrainedIfAvailable: if_missing must be one '
                             f'of {IF_MISSING}, got {if_missing!r}')
        self.if_missing = if_missing
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.download = download
        self.unfreeze_on_scratch = unfreeze_on_scratch
        self.loaded_from: Optional[str] = None

    def __call__(self, module: nn.Module) -> None:
        path, reason = resolve_checkpoint(self.checkpoint, self.download)
        name = module.__class__.__name__
        if path is None and self.if_missing == 'error':
            raise FileNotFoundError(self._missing_message(name, reason))
        if path is None:
            print_log(
                f'{name}: ImageNet-pretrained weights NOT loaded ({reason}); '
                'training this backbone FROM SCRATCH. Put the file in the '
                "torch hub cache or set this init's checkpoint to a local "
                'file (the GFLV2 configs: --cfg-options '
                'model.backbone.init_cfg.2.checkpoint=/path/resnet50.pth, '
                'docs/detection.md)',
                logger='current', level=30)  # logging.WARNING
            if self.unfreeze_on_scratch:
                self._unfreeze(module)
            self.loaded_from = None
        else:
            state_dict = torch.load(
                path, map_location='cpu', weights_only=True)
            if isinstance(state_dict, dict) and 'state_dict' in state_dict:
                state_dict = state_dict['state_dict']
            if self.prefix:
                n = len(self.prefix)
                state_dict = {
                    k[n:]: v
                    for k, v in state_dict.items() if k.startswith(self.prefix)
                }
                if not state_dict:
                    raise ValueError(f'PretrainedIfAvailable: no key of {path} '
                                     f'starts with prefix {self.prefix!r}')
            print_log(f'{name}: loading pretrained weights from {path} '
                      f'({reason})', logger='current')
            load_state_dict(module, state_dict, strict=False, logger='current')
            self.loaded_from = path
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _missing_message(self, name: str, reason: str) -> str:
        if self.checkpoint.startswith(TORCHVISION_PREFIX):
            url = torchvision_url(self.checkpoint[len(TORCHVISION_PREFIX):])
        else:
            url = self.checkpoint
        if url is None:
            fetch = (f' ({reason}); set this init\'s checkpoint to a local '
                     'file')
        else:
            fetch = (f': no file {hub_cache_path(url)} (the torch hub '
                     f'cache). Download {url} (on a machine without '
                     'internet: elsewhere) and copy it to that path, or set '
                     "this init's checkpoint to a local file")
        return (f'{name}: ImageNet-pretrained weights {self.checkpoint} '
                f'not found{fetch}. To train the backbone from scratch '
                'instead, pass --from-scratch (tools/train.py, '
                "tools/compare_detection.py), which sets if_missing='scratch'"
                '. See docs/detection.md')

    @staticmethod
    def _unfreeze(module: nn.Module) -> None:
        """A randomly initialised stem must train, BN statistics must update.

        ``frozen_stages``/``norm_eval`` are attributes read by ResNet's
        ``train()``; ``requires_grad`` was already cleared in its
        constructor, so it is restored here.
        """
        if getattr(module, 'frozen_stages', -1) != -1:
            module.frozen_stages = -1
        if getattr(module, 'norm_eval', False):
            module.norm_eval = False
        for param in module.parameters():
            param.requires_grad_(True)

    def _get_init_info(self) -> str:
        if self.loaded_from is None:
            return (f'{self.__class__.__name__}: {self.checkpoint} not '
                    'available, kept the from-scratch initialisation')
        return f'{self.__class__.__name__}: loaded {self.loaded_from}'


def allow_training_from_scratch(model_cfg) -> int:
    """Set ``if_missing='scratch'`` on every ``PretrainedIfAvailable``
    initializer in a model config (nested ``init_cfg`` lists included).

    Args:
        model_cfg (dict): a model config, e.g. ``cfg.model``; changed in
            place.

    Returns:
        int: how many initializers were changed (0: the model loads no
        optional pretrained weights).

    Example:
        >>> model = dict(type='GFL', backbone=dict(type='ResNet', init_cfg=[
        ...     dict(type='Kaiming', layer='Conv2d'),
        ...     dict(type='PretrainedIfAvailable',
        ...          checkpoint='torchvision://resnet50',
        ...          if_missing='error')]))
        >>> allow_training_from_scratch(model)
        1
        >>> model['backbone']['init_cfg'][1]['if_missing']
        'scratch'
    """
    changed = 0
    if isinstance(model_cfg, dict):
        if model_cfg.get('type') == 'PretrainedIfAvailable':
            model_cfg['if_missing'] = 'scratch'
            changed += 1
        for value in model_cfg.values():
            changed += allow_training_from_scratch(value)
    elif isinstance(model_cfg, (list, tuple)):
        for value in model_cfg:
            changed += allow_training_from_scratch(value)
    return changed
