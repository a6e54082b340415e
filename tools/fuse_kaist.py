#!/usr/bin/env python
"""Fuse a KAIST copy into a fused KAIST dataset (paper Section 4.4).

    python tools/fuse_kaist.py KAIST_ROOT OUT_ROOT --method NAME \
        [--config C] [--checkpoint K | --shipped-weights] \
        [--image-set imageSets/xxx.txt] \
        [--device cpu|cuda] [--batch-size N] [--workers N] \
        [--precision fp32|bf16|fp16] [--color] \
        [--num-shards N --shard-id K] [--ext png|jpg] [--modality fused] \
        [--annotations copy|link|none] [--overwrite] [--merge-only] \
        [--option KEY=VALUE] [--list-methods]

Writes OUT_ROOT/images/setXX/VYYY/<modality>/IZZZZZ.<ext>, copies (or links)
annotations/ and imageSets/, and records OUT_ROOT/manifest.json. Reruns skip
finished frames; several --image-set lists (e.g. train and test) may be
fused into one OUT_ROOT, one run each. One OUT_ROOT holds the output of one
method and settings: fuse another method into another OUT_ROOT. Several
processes (GPUs, nodes) may fuse one KAIST copy into one OUT_ROOT with
--num-shards/--shard-id, or under torchrun (shards from WORLD_SIZE/RANK,
GPU from LOCAL_RANK). ``msfam`` needs ``--checkpoint`` (e.g. your stage-2
result for Table 7) or ``--shipped-weights`` (the CPU-trained weights of
checkpoints/, not the paper's; the tool prints which file it uses).

Exit status: 0 when every frame of this shard is fused, 1 when frames failed
(listed on stderr and in the manifest), 2 on bad arguments or an I/O error
outside the per-frame work (the message names the path), 130 when
interrupted (rerun to resume).
"""
import argparse
import os
import sys

from msfam_mm.batch_fusion import fuse_kaist, merge_manifests, shard_from_env
from msfam_mm.batch_fusion.cli import (add_fusion_arguments, argument_names,
                                       fusion_arguments, print_methods,
                                       require, run_reporting_errors)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('kaist_root', nargs='?',
                   help='KAIST copy with the official layout (only read)')
    p.add_argument('out_root', nargs='?',
                   help='output root (created; KAIST layout); must lie '
                   'outside KAIST_ROOT')
    add_fusion_arguments(
        p, device_help="'cpu', 'cuda', 'cuda:N' or 'auto' (default cpu); "
        'under torchrun cuda means cuda:LOCAL_RANK')
    p.add_argument('--image-set', help='frame list, e.g. '
                   'imageSets/test-all-20.txt (relative to KAIST_ROOT); '
                   'default: every frame under images/. Several lists may '
                   'be fused into one OUT_ROOT, one run each')
    p.add_argument('--writer-threads', type=int, default=2,
                   help='threads encoding and writing outputs (default 2)')
    p.add_argument('--modality', default='fused',
                   help='name of the output modality folder (default fused)')
    p.add_argument('--annotations', default='copy',
                   choices=('copy', 'link', 'none'),
                   help='make annotations/ and imageSets/ available in '
                   'OUT_ROOT by copying (default) or symlinking')
    p.add_argument('--num-shards', type=int,
                   help='split the frames into N shards (default: '
                   'WORLD_SIZE under torchrun, else 1)')
    p.add_argument('--shard-id', type=int,
                   help='the shard this process fuses, 0..N-1 (default: '
                   'RANK under torchrun, else 0)')
    p.add_argument('--overwrite', action='store_true',
                   help='fuse every frame of this run again, replacing '
                   'outputs; allowed with other settings than OUT_ROOT '
                   'holds (its other frames are then out of date)')
    p.add_argument('--merge-only', action='store_true',
                   help='only merge the records of OUT_ROOT into '
                   'manifest.json (exit 0 when complete, 1 when not)')
    return p


def parse_args(argv=None):
    return build_parser().parse_args(argv)


def report(result, out=None):
    out = out or sys.stderr
    shard, merged = result.get('shard'), result['merged']
    if shard is not None:
        c = shard['counts']
        print(f"{shard['list']['name']} shard {shard['shard']['shard_id']}/"
              f"{shard['shard']['num_shards']}: {c['total']} frames, "
              f"{c['fused']} fused, {c['skipped_existing']} already done, "
              f"{c['failed']} failed; "
              f"{shard['timings']['frames_per_s']:.3f} frames/s "
              f"({shard['settings']['backend']} "
              f"{shard['settings']['precision']})", file=out)
        for f in shard['failures']:
            print(f"FAILED {f['key']}: {f['reason']}", file=out)
    for entry in merged['lists']:
        c = entry['counts']
        shards = '; '.join(
            f"{g['num_shards']} shard(s): finished {g['finished']}"
            + (f", unfinished {g['unfinished']}" if g['unfinished'] else '')
            + (f", not run {g['missing']}" if g['missing'] else '')
            for g in entry['shardings'])
        print(f"list {entry['name']} ({entry['image_set'] or 'all frames'}):"
              f" {c['done']}/{c['total']} done, {c['failed']} failed, "
              f"{c['pending']} pending, complete={entry['complete']} "
              f"[{shards}]", file=out)
    c = merged['counts']
    print(f"OUT_ROOT: {c['done']}/{c['total']} frames done, {c['failed']} "
          f"failed, {c['pending']} pending, complete={merged['complete']}",
          file=out)


def _run(args) -> int:
    if args.merge_only:
        out_root = args.out_root or args.kaist_root
        if out_root is None:
            raise ValueError('--merge-only needs OUT_ROOT')
        merged = merge_manifests(out_root)
        report(dict(merged=merged))
        return 0 if merged['complete'] else 1
    require(KAIST_ROOT=args.kaist_root, OUT_ROOT=args.out_root,
            **{'--method': args.method})
    num_shards, shard_id, local_rank = shard_from_env(args.num_shards,
                                                      args.shard_id)
    device = args.device
    if device == 'cuda' and 'LOCAL_RANK' in os.environ:
        device = f'cuda:{local_rank}'
    result = fuse_kaist(
        args.kaist_root, args.out_root, **dict(
            fusion_arguments(args), device=device),
        image_set=args.image_set, writer_threads=args.writer_threads,
        modality=args.modality, num_shards=num_shards, shard_id=shard_id,
        annotations=args.annotations, overwrite=args.overwrite)
    report(result)
    return 1 if result['shard']['counts']['failed'] else 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_methods:
        return print_methods()
    return run_reporting_errors('fuse_kaist.py', lambda: _run(args),
                                argument_names(parser))


if __name__ == '__main__':
    sys.exit(main())
