"""The settings that identify a fused set.

They are stored in the run records (:mod:`.records`) and compared on every
rerun, so outputs of different methods, weights, precisions, formats or
inputs never mix in one output folder. The method's own arguments are
checked by :func:`msfam_mm.apis.check_fuser_arguments`, the one check
``build_fuser`` makes too; this module adds the output format.

Example:
    >>> s = fusion_settings('laplacian', ext='jpg', jpeg_quality=90,
    ...                     method_options={'levels': 5})  # doctest: +SKIP
    >>> s['normalize'], s['jpeg_quality']               # doctest: +SKIP
    ('clip', 90)
"""
import numbers
import os
from typing import Dict, Iterable, List, Optional

from msfam_mm.apis import check_fuser_arguments, model_loading
from msfam_mm.registry import FUSERS
from .errors import ArgumentError

__all__ = ['IDENTITY_KEYS', 'OUTPUT_EXTS', 'fusion_settings',
           'settings_conflict', 'describe_conflict']

#: settings that must agree between a run and the outputs already present
IDENTITY_KEYS = ('method', 'config_sha256', 'checkpoint_sha256', 'backend',
                 'precision', 'color', 'normalize', 'ext', 'jpeg_quality',
                 'modality', 'method_options', 'inputs')
#: values of identity settings that records written before the setting
#: existed did not store (every run then used PyTorch)
_RECORDED_DEFAULTS = {'backend': 'torch'}
#: formats of the fused images (lossless PNG, or JPEG)
OUTPUT_EXTS = ('png', 'jpg', 'jpeg')


def fusion_settings(method: str, config=None, checkpoint=None,
                    precision: str = 'fp32', color: bool = False,
                    normalize: Optional[str] = None, ext: str = 'png',
                    jpeg_quality: int = 95, modality: str = 'fused',
                    method_options: Optional[Dict] = None,
                    inputs: Optional[Dict] = None,
                    device: str = 'cpu', backend: str = 'torch') -> Dict:
    """The identity settings of a fused set, checked without building the
    model.

    ``msfam`` without config/checkpoint records the shipped files it will
    load (paths and sha256), so naming them explicitly is the same setting
    and a changed shipped file is a different one. ``inputs`` names the
    source folders (resolved paths): outputs of other inputs are never
    reused. ``device`` is checked (available, precision supported) but is
    no identity setting; ``backend`` and ``precision`` are recorded as
    resolved (``'auto'`` becomes what runs on this machine).

    Raises:
        KeyError: unknown method.
        ValueError: a bad value (named), or config/checkpoint given to a
            method that takes none / missing for one that needs them.
        FileNotFoundError: config or checkpoint missing.
        RuntimeError: the device is not available.
    """
    options = dict(method_options or {})
    args = check_fuser_arguments(method, config, checkpoint, device=device,
                                 backend=backend, precision=precision,
                                 color=color, normalize=normalize, **options)
    ext = ext.lower().lstrip('.')
    if ext not in OUTPUT_EXTS:
        raise ArgumentError("{ext} must be 'png' or 'jpg', got {0!r}", ext)
    if isinstance(jpeg_quality, bool) or \
            not isinstance(jpeg_quality, numbers.Integral) or \
            not 0 <= jpeg_quality <= 100:
        raise ArgumentError('{jpeg_quality} must be an integer in 0..100 '
                            '(OpenCV IMWRITE_JPEG_QUALITY), got {0!r}',
                            jpeg_quality)
    config, checkpoint = args.get('config'), args.get('checkpoint')
    return dict(
        method=method,
        config=os.fspath(config) if config else None,
        config_sha256=model_loading.file_sha256(config) if config else None,
        checkpoint=os.fspath(checkpoint) if checkpoint else None,
        checkpoint_sha256=model_loading.file_sha256(checkpoint)
        if checkpoint else None,
        backend=args['backend'], precision=args['precision'],
        color=bool(color),
        normalize=normalize or FUSERS.get(method).default_normalize,
        ext=ext,
        jpeg_quality=int(jpeg_quality) if ext in ('jpg', 'jpeg') else None,
        modality=modality, method_options=options,
        inputs=dict(inputs or {}))


def settings_conflict(old: Dict, new: Dict) -> List[str]:
    """Identity settings that differ between two ``settings`` dicts."""
    def value(settings, key):
        return settings.get(key, _RECORDED_DEFAULTS.get(key))
    return [k for k in IDENTITY_KEYS if value(old, k) != value(new, k)]


def describe_conflict(old: Dict, new: Dict, diff: Iterable[str]) -> str:
    """``'key: old -> new, ...'`` for the keys in ``diff``."""
    return ', '.join(f'{k}: {old.get(k)!r} -> {new.get(k)!r}' for k in diff)
