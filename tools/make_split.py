#!/usr/bin/env python
"""Write the deterministic 90/10 TNO + RoadScene pair split (Section 4.1).

Example (the committed files in data/splits were made with the defaults):
    python tools/make_split.py --data-root ../shared/data --out-dir data/splits
The cross-dataset protocol's RoadScene split (configs/cross/):
    python tools/make_split.py --data-root ../shared/data \
        --pairs roadscene221/vi:roadscene221/ir --name roadscene \
        --held-out-name val

Writes <out-dir>/<name>_train.txt and <name>_test.txt, one
"<visible> <infrared>" pair per line, relative to the data root.
"""
import argparse
import os.path as osp
import sys


from msfam_mm.datasets.fusion.split import (
    make_pair_split, write_pair_list)

DEFAULT_PAIRS = ('tno42/vi:tno42/ir', 'roadscene221/vi:roadscene221/ir')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default='data/',
                        help='root that the pair folders are relative to')
    parser.add_argument('--pairs', action='append', metavar='VIS_DIR:IR_DIR',
                        help='visible:infrared folder pair relative to the '
                        f'data root (repeatable; default {DEFAULT_PAIRS})')
    parser.add_argument('--test-ratio', type=float, default=0.1)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', default='data/splits')
    parser.add_argument('--name', default='tno_roadscene')
    parser.add_argument('--held-out-name', default='test',
                        help='what the held-out part is called in its file '
                        'name: test, or val for a validation split')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    folder_pairs = []
    for spec in args.pairs or DEFAULT_PAIRS:
        if spec.count(':') != 1:
            sys.exit(f'make_split: --pairs must be VIS_DIR:IR_DIR, got '
                     f'{spec!r}')
        folder_pairs.append(tuple(spec.split(':')))
    try:
        split = make_pair_split(args.data_root, folder_pairs,
                                args.test_ratio, args.seed)
    except (ValueError, OSError) as err:
        sys.exit(f'make_split: {err}')
    for part, pairs in split.items():
        part = args.held_out_name if part == 'test' else part
        path = osp.join(args.out_dir, f'{args.name}_{part}.txt')
        header = (f'{part} split of {len(split["train"]) + len(split["test"])}'
                  f' pairs (test_ratio={args.test_ratio}, seed={args.seed})\n'
                  f'folders: {" ".join(":".join(p) for p in folder_pairs)}\n'
                  'format: <visible> <infrared>, relative to the data root\n'
                  'written by tools/make_split.py')
        write_pair_list(pairs, path, header)
        print(f'{path}: {len(pairs)} pairs')


if __name__ == '__main__':
    main()
