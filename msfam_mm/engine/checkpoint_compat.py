"""Safe ``torch.load(weights_only=True)`` for mmengine 0.10.7 checkpoints.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``. mmengine
0.10.7 (``CheckpointLoader.load_from_local``, used by ``Runner.resume`` and
``load_from``) calls ``torch.load`` without that argument, and its own
checkpoints hold a few non-tensor globals in ``message_hub`` (the
``HistoryBuffer`` log buffers and the numpy arrays/scalars inside them), so
resuming fails with ``Unsupported global: ... HistoryBuffer``.

The fix here keeps weights-only loading on for every file and allow-lists
exactly the globals that mmengine checkpoints contain (found with
``torch.serialization.get_unsafe_globals_in_checkpoint`` on a real checkpoint
written by ``Runner``; see ``tests/test_resume.py``):

- ``mmengine.logging.history_buffer.HistoryBuffer``
- ``numpy.ndarray``, ``numpy.dtype``, ``numpy._core.multiarray._reconstruct``
  and ``numpy._core.multiarray.scalar`` (numpy 2 names; the numpy 1 names
  ``numpy.core.multiarray.*`` map to the same functions so checkpoints written
  with numpy 1 load too)
- ``builtins.getattr``: ``HistoryBuffer`` stores its statistics methods
  (``HistoryBuffer.mean`` ...) which pickle as ``getattr(HistoryBuffer,
  'mean')``. The real ``getattr`` is *not* allow-listed: the name is bound to
  :func:`_history_buffer_getattr`, which only resolves attributes of
  ``HistoryBuffer`` that are its registered statistics methods and refuses
  everything else.

Importing :mod:`msfam_mm` (its ``engine`` subpackage is imported first)
registers these globals once; :func:`register_mmengine_safe_globals` is
idempotent.
"""
from typing import Any, List, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

__all__ = ['register_mmengine_safe_globals', 'mmengine_safe_globals']

_REGISTERED = False
# HistoryBuffer._set_default_statistics (mmengine 0.10.7)
_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Restricted ``getattr`` used only while unpickling checkpoints.

    Allows ``getattr(HistoryBuffer, name)`` for the statistics methods that
    ``HistoryBuffer`` registers (``mean``, ``min``, ``max``, ``current`` ...),
    which is what ``HistoryBuffer._statistics_methods`` pickles to. Anything
    else raises, so a malicious checkpoint cannot use ``getattr`` to reach
    other callables.
    """
    # the four defaults are registered lazily on the first HistoryBuffer();
    # custom ones via HistoryBuffer.register_statistics
    allowed = set(_DEFAULT_STATISTICS) | set(
        getattr(HistoryBuffer, '_statistics_methods', {}))
    if obj is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(HistoryBuffer, name)
    raise torch.serialization.pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only '
        f'HistoryBuffer statistics methods {sorted(allowed)} are allowed')


def mmengine_safe_globals() -> List[Any]:
    """The allow-list entries (objects or ``(object, pickled_name)`` pairs)."""
    # numpy >= 2 module path (numpy 1.x: np.core)
    core = getattr(np, '_core', None) or np.core
    multiarray = core.multiarray
    entries: List[Any] = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        (multiarray._reconstruct, 'numpy._core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy._core.multiarray.scalar'),
        # numpy 1.x wrote the same functions under numpy.core.multiarray
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        (_history_buffer_getattr, 'builtins.getattr'),
    ]
    # numpy 2 pickles some dtypes by their concrete class
    # (e.g. numpy.dtypes.Float64DType); allow those classes, which only
    # describe dtypes and carry no behaviour beyond np.dtype.
    dtype_classes: List[Tuple[type, str]] = []
    for char in '?bhilqBHILQefdgFDGSUV':
        cls = type(np.dtype(char))
        dtype_classes.append((cls, f'numpy.dtypes.{cls.__name__}'))
    entries.extend(dtype_classes)
    return entries


def register_mmengine_safe_globals() -> None:
    """Allow-list mmengine's checkpoint globals for weights-only loading.

    Example:
        >>> from msfam_mm.engine.checkpoint_compat import (
        ...     register_mmengine_safe_globals)
        >>> register_mmengine_safe_globals()  # done on `import msfam_mm`
    """
    global _REGISTERED
    if _REGISTERED:
        return
    torch.serialization.add_safe_globals(mmengine_safe_globals())
    _REGISTERED = True


register_mmengine_safe_globals()
