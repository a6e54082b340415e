"""Fuse the pairs whose output is missing, within a time budget: what a
report needs before it scores (``tools/make_report.py``).

A thin layer over :mod:`.engine` (resumable, atomic writes): the fuser is
built only when a pair is pending, and with a ``deadline`` the pairs are
fused one at a time until it passes, so a rerun continues where a budget
stopped.

Example:
    >>> pairs = {'tno42/05': ('vi/05.png', 'ir/05.png')}
    >>> fuse_missing(pairs, lambda key: f'out/{key}.png',
    ...              'average')['fused']        # doctest: +SKIP
    1
"""
import sys
import time
from typing import Callable, Dict, Optional, Tuple

from msfam_mm.apis import build_fuser
from .engine import PairTask, Work, fuse_pending, plan_work

__all__ = ['fuse_missing']


def fuse_missing(pairs: Dict[str, Tuple[str, str]],
                 out_path: Callable[[str], str], method: str,
                 config: Optional[str] = None,
                 checkpoint: Optional[str] = None, *,
                 deadline: Optional[float] = None, device: str = 'cpu',
                 name: Optional[str] = None) -> Dict:
    """Fuse the pairs (``{key: (visible, infrared)}``) whose output
    ``out_path(key)`` does not exist with ``build_fuser(method, config,
    checkpoint)``, in order, until ``time.time()`` passes ``deadline``
    (``None``: no limit).

    Returns:
        dict: ``fused`` (outputs written), ``left`` (pending pairs the
        deadline left for a rerun), ``failures`` (the engine's, one dict
        per pair that could not be fused) and ``seconds``.
    """
    name = name or method
    work = plan_work([PairTask(k, vis, ir, out_path(k))
                      for k, (vis, ir) in pairs.items()])
    t0 = time.perf_counter()
    out = dict(fused=0, left=0, failures=list(work.failures), seconds=0.0)
    if not work.pending:
        return out
    fuser = build_fuser(method, config, checkpoint, device=device)
    # with a deadline, one pair per engine call so the budget is checked
    # between pairs; without, one call for all
    chunks = [[t] for t in work.pending] if deadline is not None \
        else [work.pending]
    for n, chunk in enumerate(chunks):
        if deadline is not None and time.time() > deadline:
            out['left'] = len(work.pending) - n
            print(f'[fuse] {name}: time budget spent, {out["left"]} pairs '
                  'left for a rerun', file=sys.stderr, flush=True)
            break
        stats = fuse_pending(Work(chunk, pending=list(chunk)), fuser,
                             workers=0, writer_threads=1, progress=False,
                             desc=name)
        out['fused'] += stats['counts']['fused']
        out['failures'] += stats['failures']
        print(f"[fuse] {name}: {out['fused']}/{len(work.pending)} "
              f'({time.perf_counter() - t0:.0f} s)', file=sys.stderr,
              flush=True)
    out['seconds'] = time.perf_counter() - t0
    return out
