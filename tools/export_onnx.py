#!/usr/bin/env python
"""Export a fusion network to ONNX (dynamic batch, height and width).

    python tools/export_onnx.py OUT.onnx [--method msfam|nestfuse] \
        [--config C] [--checkpoint K] [--option spatial_mode=l1_ratio] \
        [--check VIS IR [--check VIS IR ...]] [--tolerance 2]

``msfam`` without --config/--checkpoint exports the shipped weights
(checkpoints/README.md). The file records the method, the sha256 of the
checkpoint and the preprocessing contract (grey [0, 1] inputs padded to
multiples of 8, raw output to crop and min-max stretch) in its metadata;
``tools/fuse.py --checkpoint OUT.onnx --backend openvino|onnxruntime`` runs
it. After writing, the graph is run with ONNX Runtime and compared with the
PyTorch network on every ``--check`` pair (paths of real images; default:
three generated pairs of odd sizes), and the largest difference in grey
levels is printed; exit status 1 when it exceeds ``--tolerance``, 2 on bad
arguments. The output is written atomically and never over the checkpoint.
"""
import argparse
import sys

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out', help='the .onnx file to write')
    p.add_argument('--method', default='msfam', choices=('msfam', 'nestfuse'),
                   help='fusion network to export (default: %(default)s)')
    p.add_argument('--config', help='config of the network (default for '
                   'msfam: configs/msfam_stage2.py)')
    p.add_argument('--checkpoint', help='PyTorch weights (default for '
                   'msfam: the shipped checkpoints/msfam_cpu_stage2_fp16.pth)')
    p.add_argument('--option', action='append', default=[],
                   metavar='KEY=VALUE',
                   help='method option baked into the graph, e.g. '
                   'spatial_mode=l1_ratio for nestfuse')
    p.add_argument('--check', nargs=2, action='append', default=[],
                   metavar=('VIS', 'IR'),
                   help='an image pair to compare ONNX Runtime with PyTorch '
                   'on (repeatable; default: generated pairs)')
    p.add_argument('--tolerance', type=int, default=2,
                   help='largest accepted difference in grey levels '
                   '(default: %(default)s)')
    return p.parse_args(argv)


def generated_pairs(sizes=((37, 53), (128, 96), (201, 333)), seed=0):
    """Smooth random pairs of odd sizes (the export is size-dynamic)."""
    import cv2
    rng = np.random.default_rng(seed)
    pairs = []
    for h, w in sizes:
        imgs = [cv2.resize(rng.integers(0, 256, (h // 4 + 2, w // 4 + 2),
                                        dtype=np.uint8), (w, h),
                           interpolation=cv2.INTER_CUBIC) for _ in range(2)]
        pairs.append((f'generated {w}x{h}', imgs[0], imgs[1]))
    return pairs


def main(argv=None) -> int:
    args = parse_args(argv)
    from msfam_mm.apis import build_fuser
    options = {}
    for item in args.option:
        key, sep, value = item.partition('=')
        if not sep or not key:
            print(f'export_onnx.py: --option {item!r} is not KEY=VALUE',
                  file=sys.stderr)
            return 2
        options[key] = value
    if not args.out.lower().endswith('.onnx'):
        print(f'export_onnx.py: output {args.out!r} must end in .onnx',
              file=sys.stderr)
        return 2
    try:
        fuser = build_fuser(args.method, args.config, args.checkpoint,
                            backend='torch', precision='fp32', **options)
        meta = fuser.export_onnx(args.out)
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f'export_onnx.py: {err}', file=sys.stderr)
        return 2
    print(f'wrote {args.out}: method {meta["method"]}, weights '
          f'{fuser.checkpoint} (sha256 {meta["weights_sha256"][:12]}...), '
          f'options {meta["options"]}')

    graph = build_fuser(args.method, None, args.out, backend='onnxruntime',
                        **options)
    pairs = [(f'{v} + {i}', v, i) for v, i in args.check] or \
        generated_pairs()
    worst = 0
    for name, vis, ir in pairs:
        try:
            a = fuser(vis, ir).astype(np.int16)
        except (OSError, ValueError) as err:
            print(f'export_onnx.py: {err}', file=sys.stderr)
            return 2
        b = graph(vis, ir).astype(np.int16)
        diff = int(np.abs(a - b).max())
        worst = max(worst, diff)
        print(f'  {name}: {a.shape[1]}x{a.shape[0]}, max |ONNX Runtime - '
              f'PyTorch| = {diff} grey levels')
    if worst > args.tolerance:
        print(f'export_onnx.py: the graph differs from PyTorch by {worst} '
              f'grey levels (> --tolerance {args.tolerance})',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
