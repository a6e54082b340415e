#!/usr/bin/env python
"""Fuse a KAIST copy into a fused KAIST dataset (paper Section 4.4).

    python tools/fuse_kaist.py KAIST_ROOT OUT_ROOT --method NAME \
        [--config C --checkpoint K] [--image-set imageSets/xxx.txt] \
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
GPU from LOCAL_RANK).

Exit status: 0 when every frame of this shard is fused, 1 when frames failed
(listed on stderr and in the manifest), 2 on bad arguments or an I/O error
outside the per-frame work (the message names the path), 130 when
interrupted (rerun to resume).
"""
import argparse
import json
import os
import sys


def jpeg_quality(text):
    """argparse type: an integer in OpenCV's JPEG quality range 0..100."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected an integer 0..100, got {text!r}') from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(
            f'must be in 0..100 (OpenCV IMWRITE_JPEG_QUALITY), got {value}')
    return value


def add_fusion_arguments(p: argparse.ArgumentParser,
                         device_help: str = "'cpu' (default), 'cuda', "
                         "'cuda:N' or 'auto'") -> None:
    """The options tools/fuse.py and this tool share: the method and its
    model, device and precision, and the output format."""
    p.add_argument('--method',
                   help='fusion method (see --list-methods)')
    p.add_argument('--list-methods', action='store_true',
                   help='print the registered fusion methods and exit')
    p.add_argument('--config', help='model config (learned methods; msfam '
                   'defaults to configs/msfam_stage2.py)')
    p.add_argument('--checkpoint', help='model weights (learned methods; '
                   'msfam defaults to the shipped '
                   'checkpoints/msfam_cpu_stage2_fp16.pth)')
    p.add_argument('--option', action='append', default=[],
                   metavar='KEY=VALUE',
                   help='method option, e.g. levels=5 or spatial_mode='
                   'l1_ratio (values parsed as JSON when possible)')
    p.add_argument('--device', default='cpu', help=device_help)
    p.add_argument('--precision', default='fp32',
                   choices=('fp32', 'bf16', 'fp16'),
                   help='fp32 (default), bf16 autocast (CPU with AMX/'
                   'AVX512-BF16, or CUDA) or fp16 autocast (CUDA)')
    p.add_argument('--color', action='store_true',
                   help='fuse the visible Y channel, keep its colour')
    p.add_argument('--normalize', choices=('minmax', 'clip'),
                   help='output scaling (default: minmax for learned '
                   'methods as in Section 4.1, clip for classic ones)')
    p.add_argument('--batch-size', type=int, default=1,
                   help='pairs per model call (default 1; pairs of one size '
                   'are batched together)')
    p.add_argument('--workers', type=int, default=2,
                   help='threads decoding inputs (0: main thread)')
    p.add_argument('--ext', default='png', choices=('png', 'jpg'),
                   help='output format (png: lossless, default)')
    p.add_argument('--jpeg-quality', type=jpeg_quality, default=95,
                   help='JPEG quality 0..100 for --ext jpg (default 95)')
    p.add_argument('--no-progress', action='store_true',
                   help='no progress bar')


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


def argument_names(parser: argparse.ArgumentParser,
                   **extra: str) -> dict:
    """How the library's arguments are called on this command line: each
    option's destination -> its longest flag (a positional: its name in
    capitals), plus ``extra`` for arguments named differently."""
    names = {}
    for action in parser._actions:
        names[action.dest] = max(action.option_strings, key=len) \
            if action.option_strings else action.dest.upper()
    names['method_options'] = '--option'
    names.update(extra)
    return names


def error_text(e: BaseException, names=None) -> str:
    """An error message in the tool's words: OS errors name their file,
    argument errors the tool's flags."""
    from msfam_mm.batch_fusion import ArgumentError
    if isinstance(e, ArgumentError):
        return e.render(names)
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        where = e.filename if e.filename2 is None else \
            f'{e.filename} -> {e.filename2}'
        return f'{where}: {e.strerror}'
    if isinstance(e, KeyError) and len(e.args) == 1 and \
            isinstance(e.args[0], str):
        return e.args[0]  # str(KeyError) would add quotes
    return str(e)


#: what the tools report as bad arguments or I/O problems (exit 2); any
#: other exception is a bug and keeps its traceback
USAGE_ERRORS = (ValueError, KeyError, OSError, RuntimeError)


def report(result, out=None):
    out = out or sys.stderr
    shard, merged = result.get('shard'), result['merged']
    if shard is not None:
        c = shard['counts']
        print(f"{shard['list']['name']} shard {shard['shard']['shard_id']}/"
              f"{shard['shard']['num_shards']}: {c['total']} frames, "
              f"{c['fused']} fused, {c['skipped_existing']} already done, "
              f"{c['failed']} failed; "
              f"{shard['timings']['frames_per_s']:.3f} frames/s", file=out)
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


def print_methods() -> int:
    """--list-methods: the registered fusion methods, one per line."""
    from msfam_mm.apis import list_fusers
    print('\n'.join(list_fusers()))
    return 0


def require(**given) -> None:
    """Refuse a run without its required arguments (a usage error)."""
    missing = [name for name, value in given.items() if value is None]
    if missing:
        raise ValueError(f'required: {", ".join(missing)}')


def run_reporting_errors(prog: str, run, names=None) -> int:
    """The exit status of ``run()``, or 2 after printing a usage or I/O
    error (``USAGE_ERRORS``; argument errors in the words of ``names``),
    or 130 after an interruption (the tools resume where they stopped)."""
    try:
        return run()
    except USAGE_ERRORS as e:
        print(f'{prog}: error: {error_text(e, names)}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'{prog}: interrupted; run the same command again to resume',
              file=sys.stderr)
        return 130


def _run(args) -> int:
    from msfam_mm.batch_fusion import (fuse_kaist, merge_manifests,
                                       shard_from_env)
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
