#!/usr/bin/env python
"""Score fused images of one or more methods against their sources.

Pairs files by name (stem; any of png/jpg/jpeg/bmp/tif/tiff) across the
visible, infrared and each method's folder, computes the fusion metrics of
``msfam_mm.evaluation.fusion_metrics`` (conventions: docs/metrics.md) and
writes one CSV row per (method, image), plus a summary table (mean ± std per
method, best per column marked) on stdout and optionally as Markdown, the
layout of the paper's Table 6.

Example::

    python tools/eval_fusion.py --vis ../shared/data/tno42/vi \\
        --ir ../shared/data/tno42/ir \\
        --fused DenseFuse=../shared/data/tno42_published_fusions/DenseFuse \\
        --fused SeAFusion=../shared/data/tno42_published_fusions/SeAFusion \\
        --out work_dirs/tno42.csv --markdown work_dirs/tno42.md --workers 2

Outputs are written to a temporary file and renamed, so an interrupted run
never leaves half-written results; inputs are only read.

Bad images are handled like missing fused images: an image that cannot be
scored (unreadable or truncated file, size mismatch, too small for a metric)
is skipped and reported with its method, stem and files, and the rest is
scored and written. The summary ranks the methods on the images scored for
every method (the CSV keeps every scored image) and says so when some were
left out of it.

Exit status: 0 = every image scored; 1 = some images could not be scored
(listed on stderr), results for the rest written; 2 = nothing written (bad
arguments or folders, or no image could be scored).
"""
import argparse
import csv
import ctypes
import io
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

# Run from a checkout without installing: make the repository importable.
REPO_ROOT = str(Path(__file__).resolve().parents[1])
if REPO_ROOT not in sys.path:
    sys.path.append(REPO_ROOT)

from msfam_mm.utils import IMAGE_EXTENSIONS, ImageReadError  # noqa: E402
from msfam_mm.utils import read_image as read_checked_image  # noqa: E402
from msfam_mm.utils import write_text_atomic  # noqa: E402
from msfam_mm.evaluation.fusion_metrics import (  # noqa: E402
    CONVENTIONS, canonical_metric_names, evaluate_fusion, output_keys)

#: exit statuses (module docstring)
EXIT_OK, EXIT_SKIPPED, EXIT_NOTHING_WRITTEN = 0, 1, 2


class EvalError(Exception):
    """A user-facing error (bad folder, unpaired or unreadable file)."""


def list_images(folder: Path, role: str) -> Dict[str, Path]:
    """Map file stem -> path of the images in ``folder``."""
    if not folder.is_dir():
        raise EvalError(f'{role} folder {folder} does not exist')
    found: Dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
            if p.stem in found:
                raise EvalError(f'{role} folder {folder} has two images named '
                                f'{p.stem!r}: {found[p.stem].name} and '
                                f'{p.name}')
            found[p.stem] = p
    if not found:
        raise EvalError(f'{role} folder {folder} contains no images '
                        f'({"/".join(IMAGE_EXTENSIONS)})')
    return found


def parse_fused(specs: Sequence[str]) -> List[Tuple[str, Path]]:
    methods: List[Tuple[str, Path]] = []
    for spec in specs:
        name, sep, folder = spec.partition('=')
        if not sep or not name or not folder:
            raise EvalError(f'--fused expects NAME=DIR, got {spec!r}')
        if name in (m for m, _ in methods):
            raise EvalError(f'--fused method name {name!r} given twice')
        methods.append((name, Path(folder)))
    return methods


def read_image(path: Path) -> np.ndarray:
    """Read an 8-bit image as grey (H, W) or RGB (H, W, 3).

    Goes through the project's checked reader: OpenCV alone decodes a
    truncated JPEG with only a libjpeg warning, which would be scored.
    """
    try:
        img = read_checked_image(path)  # grey or BGR; alpha dropped
    except ImageReadError as err:
        raise EvalError(str(err)) from None
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


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core; no nested thread pools
    _keep_freed_memory()


def _where(method: str, stem: str, fused_p, vis_p, ir_p) -> str:
    # tools/make_report.py calls _evaluate_task without a method/stem
    who = f'{method}, image {stem!r}: ' if stem else ''
    return (f'{who}cannot score fused {fused_p} against visible {vis_p} '
            f'and infrared {ir_p}')


def _evaluate_task(task):
    """Score one (method, image); raises EvalError naming the files."""
    method, stem, fused_p, vis_p, ir_p, metrics, convention = task
    try:
        values = evaluate_fusion(
            read_image(fused_p), read_image(vis_p), read_image(ir_p),
            metrics=metrics, convention=convention,
            names=[str(fused_p), str(vis_p), str(ir_p)])
    except (EvalError, ValueError, TypeError, cv2.error) as err:
        raise EvalError(f'{_where(method, stem, fused_p, vis_p, ir_p)}: '
                        f'{err}') from None
    return method, stem, values


def _evaluate_or_report(task):
    """``(method, stem, values, None)`` or ``(method, stem, None, error)``:
    one bad image must not stop the others (module docstring)."""
    try:
        return _evaluate_task(task) + (None,)
    except EvalError as err:
        return task[0], task[1], None, str(err)


def build_tasks(vis_dir: Path, ir_dir: Path,
                methods: Sequence[Tuple[str, Path]], metrics, convention):
    """``(tasks, missing)``: one task per fused image, and how many source
    pairs lack a fused image (summed over methods; each is warned about)."""
    vis = list_images(vis_dir, 'visible')
    ir = list_images(ir_dir, 'infrared')
    if set(vis) != set(ir):
        only_v = sorted(set(vis) - set(ir))
        only_i = sorted(set(ir) - set(vis))
        raise EvalError(f'visible and infrared folders do not pair up: only '
                        f'in {vis_dir}: {only_v[:10]}; only in {ir_dir}: '
                        f'{only_i[:10]}')
    tasks, n_missing = [], 0
    for method, folder in methods:
        fused = list_images(folder, f'fused ({method})')
        extra = sorted(set(fused) - set(vis))
        if extra:
            raise EvalError(f'{folder}: fused images without a source pair: '
                            f'{extra[:10]}')
        missing = sorted(set(vis) - set(fused))
        n_missing += len(missing)
        if missing:
            print(f'warning: {method}: {len(missing)} source pair(s) have no '
                  f'fused image in {folder} and are skipped: {missing[:10]}',
                  file=sys.stderr)
        for stem in sorted(fused):
            tasks.append((method, stem, fused[stem], vis[stem], ir[stem],
                          metrics, convention))
    return tasks, n_missing


def run_tasks(tasks, workers: int, progress: bool = True):
    """Score every task; return ``(results, errors)``: ``(method, stem,
    values)`` of the scored images in task order, and one message per image
    that could not be scored."""
    bar = tqdm(total=len(tasks), desc='eval_fusion', unit='img',
               disable=not progress, file=sys.stderr)
    done = []
    try:
        if workers <= 1:
            _init_worker()
            for t in tasks:
                done.append(_evaluate_or_report(t))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers,
                                     initializer=_init_worker) as pool:
                for r in pool.map(_evaluate_or_report, tasks, chunksize=2):
                    done.append(r)
                    bar.update()
    finally:
        bar.close()
    results = [(m, s, v) for m, s, v, e in done if e is None]
    errors = [e for _, _, _, e in done if e is not None]
    return results, errors


def common_images(results, methods: Sequence[str]) -> set:
    """Stems scored for every method: the only fair set to rank on."""
    scored = [{s for mm, s, _ in results if mm == m} for m in methods]
    return set.intersection(*scored) if scored else set()


def coverage_note(results, methods: Sequence[str], common: set):
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
    best = best_methods(summary, keys)
    lines = [f'| Method | n | ' + ' | '.join(keys) + ' |',
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
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['method', 'image'] + list(keys))
    for method, stem, values in results:
        writer.writerow([method, stem]
                        + [repr(float(values[k])) for k in keys])
    return buf.getvalue()


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Fusion quality metrics (EN, MI, SCD, CC, VIF, MS_SSIM, '
                    'SD, SF, AG, Qabf, SSIM, PSNR) of fused images against '
                    'their visible/infrared sources.',
        epilog='An image that cannot be scored (unreadable, truncated, '
               'size mismatch, too small for a metric) is skipped and named '
               'on stderr, like a missing fused image; the summary ranks the '
               'methods on the images scored for all of them. Exit status: '
               '0 all scored; 1 some skipped, results for the rest written; '
               '2 nothing written (bad arguments or folders, or nothing '
               'could be scored).')
    p.add_argument('--vis', required=True, type=Path,
                   help='folder of visible source images')
    p.add_argument('--ir', required=True, type=Path,
                   help='folder of infrared source images')
    p.add_argument('--fused', required=True, action='append',
                   metavar='NAME=DIR',
                   help='a method name and its folder of fused images '
                        '(repeat for several methods)')
    p.add_argument('--out', required=True, type=Path,
                   help='CSV with one row per (method, image)')
    p.add_argument('--markdown', type=Path,
                   help='also write the summary table as Markdown')
    p.add_argument('--metrics', default=None,
                   help='comma-separated metric names (default: all)')
    p.add_argument('--convention', default='standard', choices=CONVENTIONS,
                   help="how (F,V) and (F,I) values combine: 'standard' "
                        "(MATLAB suites), 'mean' (paper Eq. 9) or 'sum'")
    p.add_argument('--workers', type=int, default=1,
                   help='worker processes (default 1)')
    p.add_argument('--no-progress', action='store_true',
                   help='hide the progress bar')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.workers < 1:
            raise EvalError(f'--workers must be >= 1, got {args.workers}')
        try:
            metrics = canonical_metric_names(args.metrics)
        except ValueError as err:
            raise EvalError(str(err)) from None
        methods = parse_fused(args.fused)
        tasks, n_missing = build_tasks(args.vis, args.ir, methods, metrics,
                                       args.convention)
        results, errors = run_tasks(tasks, args.workers,
                                    not args.no_progress)
    except EvalError as err:
        print(f'error: {err}', file=sys.stderr)
        return EXIT_NOTHING_WRITTEN
    for err in errors:
        print(f'error: {err}', file=sys.stderr)
    if not results:
        print(f'error: no image could be scored ({len(errors)} failed); '
              'nothing written', file=sys.stderr)
        return EXIT_NOTHING_WRITTEN
    keys = output_keys(metrics)
    summary_keys = list(metrics)
    names = [m for m, _ in methods]
    common = common_images(results, names)
    note = coverage_note(results, names, common)
    summary = summarise(results, names, summary_keys, stems=common)
    write_text_atomic(args.out, format_csv(results, keys))
    if args.markdown is not None:
        write_text_atomic(args.markdown, format_markdown(
            summary, summary_keys, args.convention, note))
    print(format_text(summary, summary_keys, note))
    print(f'wrote {len(results)} rows to {args.out}'
          + (f' and the summary to {args.markdown}' if args.markdown else ''))
    if errors:
        print(f'error: {len(errors)} of {len(tasks)} image(s) could not be '
              'scored and were skipped (listed above)', file=sys.stderr)
    if errors or n_missing:  # missing fused images count as not scored
        return EXIT_SKIPPED
    return EXIT_OK


if __name__ == '__main__':
    sys.exit(main())
