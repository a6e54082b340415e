#!/usr/bin/env python
"""Fuse a KAIST copy into a fused KAIST dataset (paper Section 4.4).

    python tools/fuse_kaist.py KAIST_ROOT OUT_ROOT --method NAME \
        [--config C --checkpoint K] [--image-set imageSets/xxx.txt] \
        [--device cpu|cuda] [--batch-size N] [--workers N] \
        [--precision fp32|bf16|fp16] [--color] \
        [--num-shards N --shard-id K] [--ext png|jpg] [--modality fused] \
        [--annotations copy|link|none] [--overwrite] [--merge-only]

Writes OUT_ROOT/images/setXX/VYYY/<modality>/IZZZZZ.<ext>, copies (or links)
annotations/ and imageSets/, and records OUT_ROOT/manifest.json. Reruns skip
finished frames. Several processes (GPUs, nodes) may fuse one KAIST copy
into one OUT_ROOT with --num-shards/--shard-id, or under torchrun (shards
from WORLD_SIZE/RANK, GPU from LOCAL_RANK).

Exit status: 0 when every frame of this shard is fused, 1 when frames failed
(listed on stderr and in the manifest), 2 on bad arguments.
"""
import argparse
import json
import os
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('kaist_root', help='KAIST copy with the official layout')
    p.add_argument('out_root', help='output root (created; KAIST layout)')
    p.add_argument('--method', required=True,
                   help='fusion method (see --list-methods)')
    p.add_argument('--config', help='model config (learned methods; msfam '
                   'defaults to configs/msfam_stage2.py)')
    p.add_argument('--checkpoint', help='model weights (learned methods; '
                   'msfam defaults to the shipped '
                   'checkpoints/msfam_cpu_stage2_fp16.pth)')
    p.add_argument('--image-set', help='frame list, e.g. '
                   'imageSets/test-all-20.txt (relative to KAIST_ROOT); '
                   'default: every frame under images/')
    p.add_argument('--device', default='cpu',
                   help="'cpu', 'cuda', 'cuda:N' or 'auto' (default cpu); "
                   'under torchrun cuda means cuda:LOCAL_RANK')
    p.add_argument('--precision', default='fp32',
                   choices=('fp32', 'bf16', 'fp16'))
    p.add_argument('--color', action='store_true',
                   help='fuse the visible Y channel, keep its colour')
    p.add_argument('--normalize', choices=('minmax', 'clip'),
                   help='output scaling (default: minmax for learned '
                   'methods as in Section 4.1, clip for classic ones)')
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--workers', type=int, default=2,
                   help='threads decoding inputs (0: main thread)')
    p.add_argument('--writer-threads', type=int, default=2)
    p.add_argument('--ext', default='png', choices=('png', 'jpg'),
                   help='output format (png: lossless, default)')
    p.add_argument('--jpeg-quality', type=int, default=95)
    p.add_argument('--modality', default='fused',
                   help='name of the output modality folder (default fused)')
    p.add_argument('--annotations', default='copy',
                   choices=('copy', 'link', 'none'),
                   help='make annotations/ and imageSets/ available in '
                   'OUT_ROOT by copying (default) or symlinking')
    p.add_argument('--num-shards', type=int)
    p.add_argument('--shard-id', type=int)
    p.add_argument('--overwrite', action='store_true',
                   help='fuse every frame again, replacing outputs')
    p.add_argument('--merge-only', action='store_true',
                   help='only merge the shard manifests of OUT_ROOT')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--option', action='append', default=[],
                   metavar='KEY=VALUE',
                   help='method option, e.g. levels=5 or spatial_mode='
                   'l1_ratio (values parsed as JSON when possible)')
    return p.parse_args(argv)


def parse_options(items):
    out = {}
    for item in items:
        if '=' not in item:
            raise ValueError(f'--option {item!r}: expected KEY=VALUE')
        key, value = item.split('=', 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def report(result, out=None):
    out = out or sys.stderr
    shard, merged = result.get('shard'), result['merged']
    if shard is not None:
        c = shard['counts']
        print(f"shard {shard['shard']['shard_id']}/"
              f"{shard['shard']['num_shards']}: {c['total']} frames, "
              f"{c['fused']} fused, {c['skipped_existing']} already done, "
              f"{c['failed']} failed; "
              f"{shard['timings']['frames_per_s']:.3f} frames/s", file=out)
        for f in shard['failures']:
            print(f"FAILED {f['key']}: {f['reason']}", file=out)
    c = merged['counts']
    print(f"all shards: {c['done']}/{c['total']} done, {c['failed']} failed, "
          f"missing shards {merged['shards']['missing']}, complete="
          f"{merged['complete']}", file=out)


def main(argv=None):
    args = parse_args(argv)
    from msfam_mm.apis.kaist_fusion import fuse_kaist, shard_from_env
    from msfam_mm.apis.manifest import merge_manifests
    try:
        if args.merge_only:
            merged = merge_manifests(args.out_root, args.num_shards)
            report(dict(merged=merged))
            return 0 if merged['complete'] else 1
        num_shards, shard_id, local_rank = shard_from_env(args.num_shards,
                                                          args.shard_id)
        device = args.device
        if device == 'cuda' and 'LOCAL_RANK' in os.environ:
            device = f'cuda:{local_rank}'
        result = fuse_kaist(
            args.kaist_root, args.out_root, method=args.method,
            config=args.config, checkpoint=args.checkpoint,
            image_set=args.image_set, device=device,
            precision=args.precision, color=args.color,
            normalize=args.normalize, batch_size=args.batch_size,
            workers=args.workers, writer_threads=args.writer_threads,
            ext=args.ext, jpeg_quality=args.jpeg_quality,
            modality=args.modality, num_shards=num_shards,
            shard_id=shard_id, annotations=args.annotations,
            overwrite=args.overwrite, progress=not args.no_progress,
            method_options=parse_options(args.option))
    except (ValueError, KeyError, FileNotFoundError, FileExistsError,
            RuntimeError) as e:
        print(f'fuse_kaist.py: error: {e}', file=sys.stderr)
        return 2
    report(result)
    return 1 if result['shard']['counts']['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
