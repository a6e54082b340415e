"""Score every method on a test set, with a cache that follows its inputs.

Each (method, pair) is scored with all metrics of
:func:`msfam_mm.evaluation.fusion_metrics.evaluate_fusion` in the
``standard`` convention (its per-source values give the others, see
:func:`.summary.combine`), through the folder scorer's workers
(:func:`msfam_mm.evaluation.fusion_metrics.folder_scores.score_tasks`).
A score is cached as JSON beside the work folder with the sha256 of what
it was computed from (fused image, both sources, the metric code), so a
rerun scores only what changed.

Example:
    >>> results = score_methods(methods, pairs, 'work_dirs/report',
    ...                         workers=2)          # doctest: +SKIP
    >>> results['SeAFusion']['tno42/05']['CC_I']   # doctest: +SKIP
    0.61
"""
import hashlib
import json
import os
import os.path as osp
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from msfam_mm.utils.atomic_io import write_text_atomic
from msfam_mm.utils.hashing import file_sha256
from ..fusion_metrics import folder_scores
from .methods import Method
from .protocols import Pairs, ReportError

__all__ = ['metrics_code_digest', 'score_methods', 'common_pairs',
           'score_groups']

#: ``{method name: {pair key: metric dict}}``
Results = Dict[str, Dict[str, dict]]


def metrics_code_digest() -> str:
    """sha256 of the metric implementation (every ``.py`` of
    ``msfam_mm/evaluation/fusion_metrics``): a score computed by another
    version of it is not reused."""
    folder = osp.dirname(osp.abspath(folder_scores.__file__))
    h = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith('.py'):
            h.update(name.encode())
            h.update(file_sha256(osp.join(folder, name)).encode())
    return h.hexdigest()


def score_methods(methods: Sequence[Method], pairs: Pairs, work_dir: str,
                  workers: int = 1, progress: bool = True) -> Results:
    """``{method name: {key: metric dict}}`` of every method on every pair,
    from the cache when the fused image, both sources and the metric code
    are those it was computed from.

    Raises:
        ReportError: a fused image is missing or cannot be scored.
    """
    results = OrderedDict((m.name, OrderedDict()) for m in methods)
    code = metrics_code_digest()
    sources = {key: file_sha256(vis) + file_sha256(ir)
               for key, (vis, ir) in pairs.items()}
    todo: List[Tuple[folder_scores.ScoreTask, str, str]] = []
    owner = {}
    for m in methods:
        for key, (vis, ir) in pairs.items():
            fused = m.fused_path(work_dir, key)
            if not osp.isfile(fused):
                raise ReportError(f'{m.name}: fused image {fused!r} is '
                                  'missing')
            sha = hashlib.sha256(
                (file_sha256(fused) + sources[key] + code).encode()
            ).hexdigest()
            cache = osp.join(work_dir, 'metrics', m.slug, key + '.json')
            if osp.isfile(cache):
                with open(cache, encoding='utf-8') as f:
                    cached = json.load(f)
                if cached.get('inputs_sha256') == sha:
                    results[m.name][key] = cached['values']
                    continue
            todo.append((folder_scores.ScoreTask(
                cache, key, Path(fused), Path(vis), Path(ir), None,
                'standard'), sha, fused))
            owner[cache] = m.name
    if todo:
        # 'spawn': the report has run the fusers' thread pools in this
        # process, and a forked worker can inherit one of their locks held
        done, errors = folder_scores.score_tasks(
            [t for t, _, _ in todo], workers=workers, progress=progress,
            start_method='spawn')
        if errors:
            raise ReportError('; '.join(errors))
        by_task = {(c, k): v for c, k, v in done}
        for task, sha, fused in todo:
            values = by_task[(task.method, task.stem)]
            write_text_atomic(task.method, json.dumps(
                dict(inputs_sha256=sha, fused=fused, values=values)))
            results[owner[task.method]][task.stem] = values
    # the pairs' order, whichever came from the cache
    return OrderedDict((name, OrderedDict((k, per[k]) for k in pairs))
                       for name, per in results.items())


def common_pairs(methods: Sequence[Method], pairs: Pairs, work_dir: str
                 ) -> Tuple[Pairs, List[str]]:
    """The pairs every method has a fused image of, and the missing keys
    (all methods are compared on the same images)."""
    keep = OrderedDict((k, p) for k, p in pairs.items() if all(
        osp.isfile(m.fused_path(work_dir, k)) for m in methods))
    return keep, [k for k in pairs if k not in keep]


def score_groups(groups: Dict[str, Sequence[Method]],
                 sets: Dict[str, Pairs], work_dir: str, workers: int = 1
                 ) -> Tuple[Dict[str, Results], Dict[str, List[str]]]:
    """Score each group of methods on its set (``groups`` and ``sets``
    share keys), on the pairs all of them have fused: ``(results,
    missing keys)`` per set.

    Raises:
        ReportError: a set where no pair has been fused by every method.
    """
    results, missing = OrderedDict(), OrderedDict()
    for key, methods in groups.items():
        pairs, missing[key] = common_pairs(methods, sets[key], work_dir)
        if not pairs:
            raise ReportError(f'{key}: no pair has been fused by every '
                              'method yet; rerun with a larger budget')
        results[key] = score_methods(methods, pairs, work_dir, workers)
    return results, missing
