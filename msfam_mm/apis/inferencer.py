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
from typing import List, Optional, Sequence, Union

import numpy as np

from ..registry import FUSERS
from .base_fuser import BaseFuser
from ..utils.image_io import ImageLike


def list_fusers() -> List[str]:
    """Names registered in ``FUSERS`` (classic and learned methods)."""
    import msfam_mm.apis  # noqa: F401  (registers every fuser)
    return sorted(FUSERS.module_dict)


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
    """
    names = list_fusers()
    if method not in names:
        raise KeyError(f'unknown fusion method {method!r}; registered: '
                       f'{", ".join(names)}')
    cls = FUSERS.get(method)
    if cls.requires_model:
        if not cls.has_default_weights and (config is None
                                            or checkpoint is None):
            raise ValueError(f'fusion method {method!r} needs both a config '
                             'and a checkpoint (--config, --checkpoint)')
        kwargs.update(config=config, checkpoint=checkpoint)
    elif config is not None or checkpoint is not None:
        raise ValueError(f'fusion method {method!r} needs no config or '
                         'checkpoint; drop --config/--checkpoint')
    fuser = FUSERS.build(dict(type=method, **kwargs))
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
        precision: ``'fp32'``, ``'bf16'`` or ``'fp16'`` (CUDA).
        color: fuse the visible Y channel and keep its colour (Section 4.5).
        **kwargs: further options of the method.

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
