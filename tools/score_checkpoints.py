#!/usr/bin/env python
"""Compare candidate stage-2 checkpoints on a pair list (model selection).

    python tools/score_checkpoints.py --split data/splits/tno_roadscene_test.txt \
        --precision bf16 \
        "300 it.=work_dirs/msfam_stage2_cpu_128x128/iter_300.pth" \
        "600 it.=work_dirs/msfam_stage2_cpu_128x128_600/iter_600.pth" max

Fuses every pair of ``--split`` (a list file of ``data/splits``, paths
relative to ``--data-root``) with each candidate through the inference API
and prints the mean of the six goal metrics of issue 6 (EN, MI, SCD, VIF,
Qabf, SSIM; ``standard`` convention) plus MS-SSIM, the correlation
with each source (``CC_V``, ``CC_I``: whether the candidate fuses or
mostly copies one source) and the cross protocol's selection criterion
``balanced`` (min over the sources of (SSIM + CC) / 2, the mean of each
pair's; docs/metrics.md), one JSON line per candidate. With
``--split data/splits/roadscene_val.txt`` it compares a new
cross-protocol model with the shipped one on the validation pairs that
chose it. A candidate is ``NAME=CHECKPOINT`` (a training checkpoint or an
exported state dict, built with ``--config``) or the name of a classic
fuser (``average``, ``max``, ``laplacian``). Nothing is written: use
``tools/make_report.py`` for the report of the chosen weights. This is
how the shipped CPU stage 2 was chosen (checkpoints/README.md): on the
held-out split, never on TNO-42.
"""
import argparse
import json
import os.path as osp


import numpy as np

METRICS = ('EN', 'MI', 'SCD', 'VIF', 'Qabf', 'SSIM', 'MS_SSIM')
#: source balance: CC of the fused image with the visible / infrared image,
#: and the selection criterion made of each source's share
BALANCE = ('CC_V', 'CC_I', 'balanced')
CLASSIC = ('average', 'max', 'laplacian')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('candidates', nargs='+',
                   help='NAME=CHECKPOINT, or a classic fuser name')
    p.add_argument('--split', default='data/splits/tno_roadscene_test.txt')
    p.add_argument('--data-root', default='data/')
    p.add_argument('--config', default='configs/msfam_stage2.py')
    p.add_argument('--precision', default='fp32',
                   choices=('fp32', 'bf16', 'fp16'))
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def parse_candidate(spec: str):
    if spec in CLASSIC:
        return spec, spec, None
    name, sep, ckpt = spec.partition('=')
    if not sep or not name or not ckpt:
        raise SystemExit(f'error: candidate {spec!r}: expected '
                         f'NAME=CHECKPOINT or one of {CLASSIC}')
    if not osp.isfile(ckpt):
        raise SystemExit(f'error: candidate {spec!r}: checkpoint {ckpt!r} '
                         'does not exist')
    return name, 'msfam', ckpt


def score(fuse, pairs, names=None) -> dict:
    """Mean of ``METRICS`` and ``BALANCE`` over ``pairs`` of uint8
    (vis, ir) images."""
    from msfam_mm.evaluation.fusion_metrics import (balance_from_values,
                                                    evaluate_fusion)
    rows = []
    for k, (vis, ir) in enumerate(pairs):
        fused = fuse(vis, ir)
        row = evaluate_fusion(fused, vis, ir, metrics=METRICS + ('CC',),
                              names=names[k] if names else None)
        row.update(balance_from_values(row))
        rows.append(row)
    return {m: float(np.mean([r[m] for r in rows]))
            for m in METRICS + BALANCE}


def main(argv=None) -> None:
    args = parse_args(argv)
    candidates = [parse_candidate(c) for c in args.candidates]
    from msfam_mm.apis import FusionInferencer
    from msfam_mm.datasets.fusion.file_lists import read_list_file
    from msfam_mm.datasets.transforms.loading import read_grey_image
    entries = read_list_file(args.split, args.data_root, columns=2)
    if not entries:
        raise SystemExit(f'error: {args.split!r} lists no pairs')
    pairs = [(read_grey_image(v), read_grey_image(i)) for v, i in entries]
    names = [(f'fused({v})', v, i) for v, i in entries]
    for name, method, ckpt in candidates:
        if ckpt is None:
            fuse = FusionInferencer(method=method, device=args.device)
        else:
            fuse = FusionInferencer(args.config, ckpt, device=args.device,
                                    precision=args.precision)
        means = score(fuse, pairs, names)
        print(json.dumps(dict(name=name, checkpoint=ckpt, split=args.split,
                              pairs=len(pairs), precision=args.precision
                              if ckpt else None, **means)), flush=True)


if __name__ == '__main__':
    main()
