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
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

from msfam_mm.evaluation.fusion_metrics import (CONVENTIONS,
                                                canonical_metric_names,
                                                output_keys)
from msfam_mm.evaluation.fusion_metrics.folder_scores import (
    ScoringError, common_images, coverage_note, format_csv, format_markdown,
    format_text, pair_folders, score_tasks, summarise)
from msfam_mm.utils import write_text_atomic

#: exit statuses (module docstring)
EXIT_OK, EXIT_SKIPPED, EXIT_NOTHING_WRITTEN = 0, 1, 2


def parse_fused(specs: Sequence[str]) -> List[Tuple[str, Path]]:
    methods: List[Tuple[str, Path]] = []
    for spec in specs:
        name, sep, folder = spec.partition('=')
        if not sep or not name or not folder:
            raise ScoringError(f'--fused expects NAME=DIR, got {spec!r}')
        if name in (m for m, _ in methods):
            raise ScoringError(f'--fused method name {name!r} given twice')
        methods.append((name, Path(folder)))
    return methods


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
            raise ScoringError(f'--workers must be >= 1, got {args.workers}')
        try:
            metrics = canonical_metric_names(args.metrics)
        except ValueError as err:
            raise ScoringError(str(err)) from None
        methods = parse_fused(args.fused)
        tasks, missing = pair_folders(args.vis, args.ir, methods, metrics,
                                      args.convention)
        for method, folder in methods:
            if missing[method]:
                print(f'warning: {method}: {len(missing[method])} source '
                      f'pair(s) have no fused image in {folder} and are '
                      f'skipped: {missing[method][:10]}', file=sys.stderr)
        n_missing = sum(len(stems) for stems in missing.values())
        results, errors = score_tasks(tasks, args.workers,
                                      not args.no_progress)
    except ScoringError as err:
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
