"""Score folders of fused images against their sources (the paper's
Table 6 layout), behind ``tools/eval_fusion.py`` and the report.

Files are paired by stem across the visible, infrared and each method's
folder (any extension of :data:`msfam_mm.utils.IMAGE_EXTENSIONS`); every
(method, image) is scored with :func:`.evaluate.evaluate_fusion`, in
worker processes if asked. An image that cannot be scored is reported by
method, stem and files, not fatal. The summary ranks the methods on the
images scored for all of them.

Example:
    >>> tasks, missing = pair_folders(Path('vi'), Path('ir'),
    ...                               [('DenseFuse', Path('DenseFuse'))],
    ...                               ['EN'], 'standard')  # doctest: +SKIP
    >>> results, errors = score_tasks(tasks, workers=2)    # doctest: +SKIP
    >>> summarise(results, ['DenseFuse'], ['EN'])          # doctest: +SKIP
    {'DenseFuse': {'EN': (6.81, 0.42, 42)}}
"""
import csv
import ctypes
import io
import math
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import (Dict, List, NamedTuple, Optional, Sequence, Set,
                    Tuple)

import cv2
import numpy as np

from msfam_mm.utils.image_io import IMAGE_EXTENSIONS, ImageReadError
from msfam_mm.utils.image_io import read_image as read_checked_image
from .evaluate import evaluate_fusion

__all__ = ['ScoringError', 'ScoreTask', 'list_images', 'read_image_rgb',
           'init_worker', 'score_task', 'pair_folders', 'score_tasks',
           'common_images', 'coverage_note', 'summarise', 'best_methods',
           'format_markdown', 'format_text', 'format_csv']


class ScoringError(Exception):
    """An image or folder that cannot be scored (the message names it)."""


class ScoreTask(NamedTuple):
    """One fused image to score against its sources."""
    method: str
    stem: str
    fused: Path
    vis: Path
    ir: Path
    metrics: Optional[Sequence[str]]
    convention: str


def list_images(folder: Path, role: str) -> Dict[str, Path]:
    """Map file stem -> path of the images in ``folder``.

    Raises:
        ScoringError: the folder is missing, empty, or holds two images of
            one stem.
    """
    if not folder.is_dir():
        raise ScoringError(f'{role} folder {folder} does not exist')
    found: Dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
            if p.stem in found:
                raise ScoringError(f'{role} folder {folder} has two images '
                                   f'named {p.stem!r}: {found[p.stem].name} '
                                   f'and {p.name}')
            found[p.stem] = p
    if not found:
        raise ScoringError(f'{role} folder {folder} contains no images '
                           f'({"/".join(IMAGE_EXTENSIONS)})')
    return found


def read_image_rgb(path: Path) -> np.ndarray:
    """Read an 8-bit image as grey (H, W) or RGB (H, W, 3), the form
    :func:`.evaluate.evaluate_fusion` takes.

    Goes through the package's checked reader: OpenCV alone decodes a
    truncated JPEG with only a libjpeg warning, which would be scored.
    """
    try:
        img = read_checked_image(path)  # grey or BGR; alpha dropped
    except ImageReadError as err:
        raise ScoringError(str(err)) from None
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)  # rgb2gray weights on RGB
    return img


def _keep_freed_memory() -> None:
    """Let glibc reuse freed large blocks instead of unmapping them.

    Each metric allocates dozens of image-sized float64 temporaries; by
    default glibc returns every one to the OS and the next one page-faults
    in again, which cost a third of the run time (measured: 10 TNO images,
    4.3 s CPU of which 1.1 s in the kernel, vs 2.9 s with this). No effect
    (and no error) where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL('libc.so.6')
        libc.mallopt(-3, 256 << 20)  # M_MMAP_THRESHOLD: 256 MiB
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD: 256 MiB
    except (OSError, AttributeError):
        pass


def init_worker() -> None:
    """Set up a scoring process: one OpenCV thread (one process per core,
    no nested thread pools) and freed memory kept for reuse."""
    cv2.setNumThreads(1)
    _keep_freed_memory()


def score_task(task: ScoreTask) -> Tuple[str, str, Dict[str, float]]:
    """``(method, stem, values)`` of one fused image.

    Raises:
        ScoringError: naming the method, the stem (when given) and the
            three files.
    """
    method, stem, fused_p, vis_p, ir_p, metrics, convention = task
    try:
        values = evaluate_fusion(
            read_image_rgb(fused_p), read_image_rgb(vis_p),
            read_image_rgb(ir_p), metrics=metrics, convention=convention,
            names=[str(fused_p), str(vis_p), str(ir_p)])
    except (ScoringError, ValueError, TypeError, cv2.error) as err:
        who = f'{method}, image {stem!r}: ' if stem else ''
        raise ScoringError(f'{who}cannot score fused {fused_p} against '
                           f'visible {vis_p} and infrared {ir_p}: {err}') \
            from None
    return method, stem, values


def _score_or_report(task: ScoreTask):
    """``(method, stem, values, None)`` or ``(method, stem, None, error)``:
    one bad image must not stop the others."""
    try:
        return score_task(task) + (None, )
    except ScoringError as err:
        return task[0], task[1], None, str(err)


def pair_folders(vis_dir: Path, ir_dir: Path,
                 methods: Sequence[Tuple[str, Path]], metrics,
                 convention: str
                 ) -> Tuple[List[ScoreTask], Dict[str, List[str]]]:
    """``(tasks, missing)``: one task per fused image, and per method the
    stems of source pairs without a fused image.

    Raises:
        ScoringError: the source folders do not pair up, or a method's
            folder holds images without a source pair.
    """
    vis = list_images(vis_dir, 'visible')
    ir = list_images(ir_dir, 'infrared')
    if set(vis) != set(ir):
        only_v = sorted(set(vis) - set(ir))
        only_i = sorted(set(ir) - set(vis))
        raise ScoringError(f'visible and infrared folders do not pair up: '
                           f'only in {vis_dir}: {only_v[:10]}; only in '
                           f'{ir_dir}: {only_i[:10]}')
    tasks, missing = [], {}
    for method, folder in methods:
        fused = list_images(folder, f'fused ({method})')
        extra = sorted(set(fused) - set(vis))
        if extra:
            raise ScoringError(f'{folder}: fused images without a source '
                               f'pair: {extra[:10]}')
        missing[method] = sorted(set(vis) - set(fused))
        for stem in sorted(fused):
            tasks.append(ScoreTask(method, stem, fused[stem], vis[stem],
                                   ir[stem], metrics, convention))
    return tasks, missing


def score_tasks(tasks: Sequence[ScoreTask], workers: int = 1,
                progress: bool = True, start_method: Optional[str] = None):
    """Score every task; return ``(results, errors)``: ``(method, stem,
    values)`` of the scored images in task order, and one message per image
    that could not be scored.

    ``start_method``: how worker processes start (``multiprocessing``'s
    'fork', 'spawn', ...; default: the platform's). A process that has
    run torch or OpenCV thread pools before must ask for 'spawn': a forked
    worker can inherit one of their locks held and wait forever."""
    from tqdm import tqdm
    bar = tqdm(total=len(tasks), desc='eval_fusion', unit='img',
               disable=not progress, file=sys.stderr)
    done = []
    try:
        if workers <= 1:
            init_worker()
            for t in tasks:
                done.append(_score_or_report(t))
                bar.update()
        else:
            ctx = multiprocessing.get_context(start_method)
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                     initializer=init_worker) as pool:
                for r in pool.map(_score_or_report, tasks, chunksize=2):
                    done.append(r)
                    bar.update()
    finally:
        bar.close()
    results = [(m, s, v) for m, s, v, e in done if e is None]
    errors = [e for _, _, _, e in done if e is not None]
    return results, errors


def common_images(results, methods: Sequence[str]) -> Set[str]:
    """Stems scored for every method: the only fair set to rank on."""
    scored = [{s for mm, s, _ in results if mm == m} for m in methods]
    return set.intersection(*scored) if scored else set()


def coverage_note(results, methods: Sequence[str], common: Set[str]):
    """A sentence saying which images the summary leaves out, or None."""
    counts = {m: sum(1 for mm, _, _ in results if mm == m) for m in methods}
    if all(c == len(common) for c in counts.values()):
        return None
    per = ', '.join(f'{m} {c}' for m, c in counts.items())
    return (f'Summary over the {len(common)} image(s) scored for every '
            f'method; images scored per method: {per} (the CSV has them '
            'all).')


def summarise(results, methods: Sequence[str], keys: Sequence[str],
              stems=None):
    """Per method: {key: (mean, std, n)}; std is the sample std (N-1).
    ``stems``: only these images (default: all)."""
    summary = {}
    for m in methods:
        rows = [v for mm, s, v in results
                if mm == m and (stems is None or s in stems)]
        stats = {}
        for k in keys:
            x = np.asarray([r[k] for r in rows], np.float64)
            if x.size == 0:
                stats[k] = (math.nan, math.nan, 0)
                continue
            with np.errstate(invalid='ignore'):
                std = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
            stats[k] = (float(np.mean(x)), std, int(x.size))
        summary[m] = stats
    return summary


def best_methods(summary, keys) -> Dict[str, set]:
    """Methods with the highest mean per key (all metrics: higher=better)."""
    best = {}
    for k in keys:
        means = {m: s[k][0] for m, s in summary.items()
                 if not math.isnan(s[k][0])}
        if means:
            top = max(means.values())
            best[k] = {m for m, v in means.items() if v == top}
        else:
            best[k] = set()
    return best


def _fmt(mean: float, std: float) -> str:
    return f'{mean:.4f} ± {std:.4f}'


def format_markdown(summary, keys, convention: str, note=None) -> str:
    """The summary as a Markdown table, best mean per column in bold."""
    best = best_methods(summary, keys)
    lines = ['| Method | n | ' + ' | '.join(keys) + ' |',
             '|---|---:|' + '---:|' * len(keys)]
    for m, stats in summary.items():
        n = max(s[2] for s in stats.values())
        cells = []
        for k in keys:
            cell = _fmt(stats[k][0], stats[k][1])
            cells.append(f'**{cell}**' if m in best[k] else cell)
        lines.append(f'| {m} | {n} | ' + ' | '.join(cells) + ' |')
    lines.append('')
    lines.append(f'Mean ± sample std over images; **bold** = best mean per '
                 f'column (every metric is higher-is-better). Pairwise '
                 f'metrics combine (F,V) and (F,I) with the {convention!r} '
                 'convention (docs/metrics.md).')
    if note:
        lines += ['', note]
    return '\n'.join(lines) + '\n'


def format_text(summary, keys, note=None) -> str:
    """The summary as an aligned text table, best mean per column
    starred."""
    best = best_methods(summary, keys)
    header = ['Method'] + list(keys)
    rows = []
    for m, stats in summary.items():
        rows.append([m] + [_fmt(*stats[k][:2]) + ('*' if m in best[k] else ' ')
                           for k in keys])
    widths = [max(len(r[i]) for r in [header] + rows)
              for i in range(len(header))]
    out = ['  '.join(h.ljust(w) for h, w in zip(header, widths))]
    out += ['  '.join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    out.append('* = best mean per column')
    if note:
        out.append(note)
    return '\n'.join(out)


def format_csv(results, keys) -> str:
    """One CSV row per (method, image), values at full precision."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['method', 'image'] + list(keys))
    for method, stem, values in results:
        writer.writerow([method, stem]
                        + [repr(float(values[k])) for k in keys])
    return buf.getvalue()
