"""Entry points of the inference API: :func:`build_fuser` for any method of
the ``FUSERS`` registry and the mmengine-style :class:`FusionInferencer`.

Example:
    >>> from msfam_mm.apis import FusionInferencer, list_fusers
    >>> list_fusers()                                    # doctest: +SKIP
    ['average', 'choose_max', 'laplacian', 'max', 'msfam', 'nestfuse', ...]
    >>> inferencer = FusionInferencer('configs/msfam_stage2.py', 'msfam.pth',
    ...                               device='cpu')      # doctest: +SKIP
    >>> fused = inferencer('vis.png', 'ir.png')          # (H, W) uint8
    >>> fused_rgb = FusionInferencer('configs/msfam_stage2.py', 'msfam.pth',
    ...                              color=True)('vis.jpg', 'ir.jpg')
"""
import inspect
import os
import warnings
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.registry import DefaultScope

from ..deploy.onnx_export import is_onnx_model
from ..registry import FUSERS
from ..utils.image_io import ImageLike
from . import model_loading
from .base_fuser import (NORMALIZE_MODES, BaseFuser, check_method_options,
                         resolve_device)


def list_fusers() -> List[str]:
    """Names registered in ``FUSERS`` (classic and learned methods)."""
    import msfam_mm.apis  # noqa: F401  (registers every fuser)
    return sorted(FUSERS.module_dict)


def _common_arguments() -> List[str]:
    """The arguments every fuser takes (:class:`BaseFuser`'s); the others
    are the method's own options."""
    params = list(inspect.signature(BaseFuser.__init__).parameters)
    return params[1:]


def check_fuser_arguments(method: str, config=None,
                          checkpoint: Optional[str] = None,
                          **kwargs) -> Dict:
    """Check everything :func:`build_fuser` can check without building a
    model; return the arguments it builds the method with.

    Checks the method name, that a learned method has its config and
    checkpoint files (``msfam`` falls back to the shipped ones) and a
    classic one gets none, the names of the method's options, the output
    scaling, the device (present) and the precision (supported there).
    Values of method options are checked by the method itself when it is
    built.

    Returns:
        ``dict(type=method, **kwargs)`` plus ``config``/``checkpoint`` for
        learned methods (the shipped files filled in), ready for
        ``FUSERS.build``.

    Raises:
        KeyError: unknown method.
        ValueError: a bad value, an unknown option, config/checkpoint
            given to a method that takes none or missing for one that
            needs them.
        FileNotFoundError: a config or checkpoint file is missing.
        RuntimeError: the device is not available.
    """
    names = list_fusers()
    if method not in names:
        raise KeyError(f'unknown fusion method {method!r}; registered: '
                       f'{", ".join(names)}')
    cls = FUSERS.get(method)
    args = dict(type=method, **kwargs)
    if cls.requires_model:
        if cls.has_default_weights:
            # the shipped files (checkpoints/README.md), read at call time
            defaults = dict(config=model_loading.DEFAULT_MSFAM_CONFIG,
                            checkpoint=model_loading.DEFAULT_MSFAM_CHECKPOINT)
            given = dict(config=config, checkpoint=checkpoint)
            for name, path in defaults.items():
                if given[name] is None and not os.path.isfile(path):
                    raise FileNotFoundError(
                        f'no {name} given and the shipped {path} is missing '
                        '(it lives in the source checkout)')
            config = defaults['config'] if config is None else config
            checkpoint = defaults['checkpoint'] if checkpoint is None \
                else checkpoint
        elif checkpoint is None or (config is None
                                    and not is_onnx_model(checkpoint)):
            # an exported graph (.onnx) carries its network: no config
            raise ValueError(f'fusion method {method!r} needs both a config '
                             'and a checkpoint (or an exported .onnx graph)')
        for name, path in (('config', config), ('checkpoint', checkpoint)):
            if isinstance(path, (str, os.PathLike)) and \
                    not os.path.isfile(path):
                raise FileNotFoundError(f'{name} file {os.fspath(path)!r} '
                                        'does not exist')
        args.update(config=config, checkpoint=checkpoint)
    elif config is not None or checkpoint is not None:
        raise ValueError(f'fusion method {method!r} needs no config or '
                         'checkpoint')
    common = _common_arguments()
    check_method_options(method, cls, {k: v for k, v in kwargs.items()
                                       if k not in common})
    normalize = kwargs.get('normalize')
    if normalize is not None and normalize not in NORMALIZE_MODES:
        raise ValueError(f'normalize must be one of {NORMALIZE_MODES}, got '
                         f'{normalize!r}')
    device = resolve_device(kwargs.get('device', 'cpu'))
    with warnings.catch_warnings():
        # the bf16-on-this-CPU warning comes once, from the fuser itself
        warnings.simplefilter('ignore', RuntimeWarning)
        backend, precision = cls.resolve_execution(
            kwargs.get('backend', 'torch'), kwargs.get('precision', 'fp32'),
            device)
    # 'auto' resolved once, here: the fuser and the run records agree
    args.update(backend=backend, precision=precision)
    return args


def build_fuser(method: str, config=None, checkpoint: Optional[str] = None,
                **kwargs) -> BaseFuser:
    """Build a registered fusion method.

    Args:
        method: a name from :func:`list_fusers`.
        config, checkpoint: required by learned methods, refused by the
            classic ones; ``msfam`` falls back to the shipped weights and
            ``configs/msfam_stage2.py`` when they are not given.
        **kwargs: ``color``, ``normalize``, ``device``, ``precision`` and
            method-specific options.

    Raises:
        what :func:`check_fuser_arguments` raises, and the method's own
        errors for bad option values or an unloadable checkpoint.
    """
    args = check_fuser_arguments(method, config, checkpoint, **kwargs)
    # fusers are msfam_mm's, whatever scope the process has set (mmdet's in
    # a detection run): build them in ours, as model_loading does
    with DefaultScope.overwrite_default_scope('msfam_mm'):
        fuser = FUSERS.build(args)
    fuser.name = method
    return fuser


class FusionInferencer:
    """Fuse visible/infrared pairs with a config + checkpoint (mmengine style).

    Args:
        config: model config, e.g. ``configs/msfam_stage2.py``; ``None``
            for classic methods.
        checkpoint: weights (mmengine checkpoint or bare state dict).
        device: ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``'auto'``.
        method: fusion method name (``'msfam'`` by default).
        precision: ``'fp32'``, ``'bf16'``, ``'fp16'`` (CUDA) or ``'auto'``.
        color: fuse the visible Y channel and keep its colour (Section 4.5).
        **kwargs: ``backend`` (``'torch'`` by default; ``'auto'``,
            ``'openvino'``, ``'onnxruntime'``: docs/inference.md,
            "Backends") and further options of the method.

    Example:
        >>> fast = FusionInferencer(method='msfam', backend='auto',
        ...                         precision='auto')    # doctest: +SKIP

    Calling it with one pair (paths or uint8 arrays) returns one uint8 image
    at the inputs' size; with two lists it returns a list.
    """

    def __init__(self, config=None, checkpoint: Optional[str] = None,
                 device: str = 'cpu', method: str = 'msfam',
                 precision: str = 'fp32', color: bool = False,
                 **kwargs) -> None:
        self.fuser = build_fuser(method, config, checkpoint, device=device,
                                 precision=precision, color=color, **kwargs)

    def __call__(self, vis: Union[ImageLike, Sequence[ImageLike]],
                 ir: Union[ImageLike, Sequence[ImageLike]]
                 ) -> Union[np.ndarray, List[np.ndarray]]:
        return self.fuser(vis, ir)
