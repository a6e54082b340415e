"""Miss-rate curves of the KAIST protocol on disk.

:func:`msfam_mm.evaluation.kaist.evaluate_miss_rates` returns, per subset
(``all`` / ``day`` / ``night``), the FPPI/recall curve its MR^-2 was computed
from. These functions keep exactly those arrays in one ``.npz`` file, so that
a figure drawn later (another process, another run) shows the curves the
reported numbers came from, not a recomputation.

Example:
    >>> res = evaluate_miss_rates(gt, dets)  # doctest: +SKIP
    >>> save_miss_rate_curves('work/lwir/miss_rate_curves.npz', res)
    ... # doctest: +SKIP
    >>> load_miss_rate_curves('work/lwir/miss_rate_curves.npz')['night']['mr']
    ... # doctest: +SKIP
"""
import io
import os.path as osp
import zipfile
from typing import Dict, Mapping

import numpy as np

from msfam_mm.utils.atomic_io import write_bytes_atomic

__all__ = ['save_miss_rate_curves', 'load_miss_rate_curves']

#: Arrays kept per subset: the curve and the numbers that describe it.
CURVE_FIELDS = ('fppi', 'recall', 'mr', 'num_images', 'num_gt')


def save_miss_rate_curves(path: str, results: Mapping[str, Mapping]) -> None:
    """Write ``{subset: evaluate_miss_rates result}`` to ``path`` (.npz).

    Keeps ``fppi``, ``recall`` (one entry per non-ignored detection, by
    descending score), ``mr`` (fraction, NaN without ground truth),
    ``num_images`` and ``num_gt`` of every subset; written atomically.
    """
    arrays = {}
    for name, res in results.items():
        if not name or '/' in name:
            raise ValueError(f'save_miss_rate_curves: subset name {name!r} '
                             'must be non-empty and contain no "/"')
        missing = [k for k in CURVE_FIELDS if k not in res]
        if missing:
            raise KeyError(f'save_miss_rate_curves: subset {name!r} has no '
                           f'{", ".join(missing)}')
        fppi = np.asarray(res['fppi'], np.float64).reshape(-1)
        recall = np.asarray(res['recall'], np.float64).reshape(-1)
        if fppi.shape != recall.shape:
            raise ValueError(f'save_miss_rate_curves: subset {name!r} has '
                             f'{fppi.size} FPPI but {recall.size} recall '
                             'values')
        arrays[f'{name}/fppi'] = fppi
        arrays[f'{name}/recall'] = recall
        arrays[f'{name}/mr'] = np.float64(res['mr'])
        arrays[f'{name}/num_images'] = np.int64(res['num_images'])
        arrays[f'{name}/num_gt'] = np.int64(res['num_gt'])
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_bytes_atomic(path, buf.getvalue())


def load_miss_rate_curves(path: str) -> Dict[str, Dict]:
    """Read a :func:`save_miss_rate_curves` file:
    ``{subset: {'fppi', 'recall', 'mr', 'num_images', 'num_gt'}}``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'miss-rate curves {path} do not exist')
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f'{path}: not a miss-rate curve file ({err})') \
            from None
    out: Dict[str, Dict] = {}
    for key, value in arrays.items():
        name, _, field = key.rpartition('/')
        if not name or field not in CURVE_FIELDS:
            raise ValueError(f'{path}: unexpected array {key!r} (not a '
                             'miss-rate curve file)')
        out.setdefault(name, {})[field] = value
    for name, res in out.items():
        missing = [k for k in CURVE_FIELDS if k not in res]
        if missing:
            raise ValueError(f'{path}: subset {name!r} lacks '
                             f'{", ".join(missing)}')
        res['mr'] = float(res['mr'])
        res['num_images'] = int(res['num_images'])
        res['num_gt'] = int(res['num_gt'])
    return out
