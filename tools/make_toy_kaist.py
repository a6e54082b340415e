#!/usr/bin/env python
"""Write a small SYNTHETIC dataset in the KAIST layout ("toy KAIST").

Some pedestrians show only in the thermal band (night), some only in the
visible band (day, thermal crossover), some in both: the controlled case
where a good fusion must beat either band alone. See
msfam_mm/datasets/kaist/toy_kaist.py and docs/kaist.md.

Usage:
    python tools/make_toy_kaist.py OUT_ROOT [--num-frames 48] [--seed 0]
                                   [--size 320 256]
"""
import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write a synthetic KAIST-layout dataset (toy KAIST).')
    parser.add_argument('out_root', help='output folder (must not exist or '
                        'be empty)')
    parser.add_argument('--num-frames', type=int, default=48,
                        help='total frames, split half train / half test, '
                        'alternating day and night (default 48)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed (default 0)')
    parser.add_argument('--size', type=int, nargs=2, default=(320, 256),
                        metavar=('W', 'H'),
                        help='frame size (default 320 256; KAIST is 640 512)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from msfam_mm.datasets.kaist.toy_kaist import make_toy_kaist
    try:
        manifest = make_toy_kaist(args.out_root, num_frames=args.num_frames,
                                  seed=args.seed, size=args.size)
    except (ValueError, FileExistsError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    counts = manifest['person_visibility_counts']
    print(f"wrote SYNTHETIC toy KAIST to {args.out_root}: "
          f"{manifest['splits']['train']} train + "
          f"{manifest['splits']['test']} test frames of "
          f"{manifest['size'][0]}x{manifest['size'][1]}; persons by "
          f"visibility: {counts}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
