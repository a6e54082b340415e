#!/usr/bin/env python
"""Fuse two folders of visible/infrared images paired by file name.

    python tools/fuse.py --vis DIR --ir DIR --out DIR --method NAME \
        [--config C] [--checkpoint K | --shipped-weights] [--color] \
        [--device cpu|cuda] \
        [--precision fp32|bf16|fp16] [--ext png|jpg] [--option KEY=VALUE]

``VIS/NAME.*`` is paired with ``IR/NAME.*`` (same stem) and fused into
``OUT/NAME.png``. Inputs must be 8-bit images (grey, BGR or BGRA); 16-bit
and float files are reported as failed pairs. Reruns skip finished images;
``OUT/manifest.json`` records the run. A rerun with other settings or other
input folders into the same OUT is refused (unless --overwrite). Exit
status: 0 all fused, 1 some pairs failed (listed), 2 bad arguments or an
I/O error outside the per-pair work (the message names the path), 130
interrupted. ``--list-methods`` prints the registered methods. ``msfam``
needs ``--checkpoint`` or ``--shipped-weights`` (the CPU-trained weights
of checkpoints/, not the paper's; the tool prints which file it uses).
"""
import argparse
import sys

from msfam_mm.batch_fusion import fuse_folders
from msfam_mm.batch_fusion.cli import (add_fusion_arguments, argument_names,
                                       fusion_arguments, print_methods,
                                       require, run_reporting_errors)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--vis', help='folder of visible images (only read)')
    p.add_argument('--ir', help='folder of infrared images, same file '
                   'stems as --vis (only read)')
    p.add_argument('--out', help='output folder (created; outside the '
                   'input folders)')
    add_fusion_arguments(p)
    p.add_argument('--overwrite', action='store_true',
                   help='fuse every pair again, replacing outputs (also '
                   'with other settings or inputs than OUT holds)')
    return p


def parse_args(argv=None):
    return build_parser().parse_args(argv)


def _run(args) -> int:
    require(**{'--vis': args.vis, '--ir': args.ir, '--out': args.out,
               '--method': args.method})
    result = fuse_folders(args.vis, args.ir, args.out,
                          overwrite=args.overwrite, **fusion_arguments(args))
    shard = result['shard']
    c = shard['counts']
    s = shard['settings']
    print(f"{c['total']} pairs: {c['fused']} fused, {c['skipped_existing']} "
          f"already done, {c['failed']} failed ({s['method']} on "
          f"{s['backend']} {s['precision']})", file=sys.stderr)
    for f in shard['failures']:
        print(f"FAILED {f['key']}: {f['reason']}", file=sys.stderr)
    return 1 if c['failed'] else 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_methods:
        return print_methods()
    return run_reporting_errors(
        'fuse.py', lambda: _run(args),
        argument_names(parser, vis_dir='--vis', ir_dir='--ir',
                       out_dir='--out'))


if __name__ == '__main__':
    sys.exit(main())
