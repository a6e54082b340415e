#!/usr/bin/env python
"""Figures of the MSFAM reproduction: fused examples next to their sources
(paper Figures 7-9) and the attention maps of the four fusion blocks
(paper Figure 6), as small PNG files.

    python tools/visualize.py [--data-root DATA] [--config CONFIG] \
        [--checkpoint CKPT] [--pairs 05,11,35] [--attention-pair 05] \
        [--methods DenseFuse,RFN-Nest,SeAFusion,U2Fusion] \
        [--tile-height 150] [--out-dir OUT]

The path defaults are the repository's own (data/, the shipped stage-2
config and weights, and docs/figures, the figures docs/RESULTS.md shows),
whatever the current directory; with the default OUT a run replaces those
figures (and says so).

Writes ``OUT/examples_tno.png`` (one row per TNO pair: visible, infrared,
the MSFAM fusion, the classic baselines ``average`` and ``laplacian``, and
the published fusions of ``--methods``; the MSFAM tiles are captioned
"MSFAM (shipped)" for the shipped weights, else with the checkpoint's file
name) and
``OUT/attention_maps.png`` (one row per fusion block / scale: the spatial
attention map of Eq. 7 applied to the visible features, to the infrared
features and to the channel-attended fused features, as Figure 6 shows them,
upsampled to the image size, JET colour map over [0, 1]). The model runs at
the pairs' original sizes (Section 4.1) through the inference API; only the
tiles are downscaled. PNGs are written atomically; inputs are only read.
"""
import argparse
import os.path as osp
import sys
from pathlib import Path
from typing import List, Sequence

REPO_ROOT = str(Path(__file__).resolve().parents[1])

import cv2  # noqa: E402
import numpy as np  # noqa: E402

# the shipped weights, as the inference API defines them
from msfam_mm.apis.model_loading import (  # noqa: E402
    DEFAULT_MSFAM_CHECKPOINT as DEFAULT_CKPT,
    DEFAULT_MSFAM_CONFIG as DEFAULT_CONFIG)

# Absolute, so that the tool works from any directory.
DEFAULT_DATA_ROOT = osp.join(REPO_ROOT, 'data')
DEFAULT_OUT_DIR = osp.join(REPO_ROOT, 'docs', 'figures')
LABEL_H = 18  # pixels of the caption strip above each tile


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data-root', default=DEFAULT_DATA_ROOT,
                   help='folder holding tno42/ and tno42_published_fusions/ '
                   '(default: %(default)s)')
    p.add_argument('--config', default=DEFAULT_CONFIG,
                   help='stage-2 config (default: %(default)s)')
    p.add_argument('--checkpoint', default=DEFAULT_CKPT,
                   help='MSFAM weights (default: %(default)s, the shipped '
                   'ones; any other is captioned with its file name)')
    p.add_argument('--pairs', default='05,11,35',
                   help='TNO-42 stems of the example rows (default: '
                   '%(default)s)')
    p.add_argument('--attention-pair', default='05',
                   help='TNO-42 stem of the Figure-6 attention maps '
                   '(default: %(default)s)')
    p.add_argument('--methods', default='DenseFuse,RFN-Nest,SeAFusion,'
                   'U2Fusion', help='published methods shown next to MSFAM '
                   '(default: %(default)s)')
    p.add_argument('--baselines', default='average,laplacian',
                   help='classic fusers shown (default: %(default)s)')
    p.add_argument('--tile-height', type=int, default=150,
                   help='tile height in pixels (default: %(default)s)')
    p.add_argument('--out-dir', default=DEFAULT_OUT_DIR,
                   help='output folder (default: %(default)s, the '
                   'documentation\'s figures, which a run replaces)')
    return p.parse_args(argv)


def msfam_label(checkpoint: str) -> str:
    """Caption of the MSFAM tiles: which weights made them."""
    if osp.realpath(checkpoint) == osp.realpath(DEFAULT_CKPT):
        return 'MSFAM (shipped)'
    return f'MSFAM ({osp.basename(checkpoint)})'


def fit_caption(label: str, width: int) -> str:
    """``label``, cut to ``width`` pixels with a visible '...' (a long
    checkpoint name would otherwise be clipped without a sign)."""
    def fits(text):
        return cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                               1)[0][0] <= width
    if fits(label):
        return label
    while len(label) > 1 and not fits(label + '...'):
        label = label[:-1]
    return label + '...'


def tile(img: np.ndarray, height: int, label: str) -> np.ndarray:
    """Resize to ``height`` (keeping the aspect ratio), BGR, caption above."""
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    w = max(1, round(img.shape[1] * height / img.shape[0]))
    img = cv2.resize(img, (w, height), interpolation=cv2.INTER_AREA)
    strip = np.full((LABEL_H, w, 3), 255, np.uint8)
    cv2.putText(strip, fit_caption(label, w - 6), (3, LABEL_H - 5),
                cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, img], axis=0)


def hstack(tiles: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    h = max(t.shape[0] for t in tiles)
    parts = []
    for t in tiles:
        if t.shape[0] < h:
            t = np.pad(t, ((0, h - t.shape[0]), (0, 0), (0, 0)),
                       constant_values=255)
        parts += [t, np.full((h, gap, 3), 255, np.uint8)]
    return np.concatenate(parts[:-1], axis=1)


def vstack(rows: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    w = max(r.shape[1] for r in rows)
    parts = []
    for r in rows:
        if r.shape[1] < w:
            r = np.pad(r, ((0, 0), (0, w - r.shape[1]), (0, 0)),
                       constant_values=255)
        parts += [r, np.full((gap, w, 3), 255, np.uint8)]
    return np.concatenate(parts[:-1], axis=0)


def heat(m: np.ndarray, size) -> np.ndarray:
    """A map in [0, 1] -> JET colour image of ``size`` (w, h)."""
    u8 = np.clip(np.round(m * 255), 0, 255).astype(np.uint8)
    u8 = cv2.resize(u8, size, interpolation=cv2.INTER_NEAREST)
    return cv2.applyColorMap(u8, cv2.COLORMAP_JET)


def find_pair(data_root: str, stem: str):
    vis = osp.join(data_root, 'tno42', 'vi', f'{stem}.png')
    ir = osp.join(data_root, 'tno42', 'ir', f'{stem}.png')
    for p in (vis, ir):
        if not osp.isfile(p):
            raise FileNotFoundError(f'visualize: TNO pair {stem!r}: {p!r} '
                                    'does not exist')
    return vis, ir


def examples_figure(args, fuser, baselines, methods: List[str]
                    ) -> np.ndarray:
    from msfam_mm.utils import read_image
    rows = []
    for stem in [s for s in args.pairs.split(',') if s]:
        vis, ir = find_pair(args.data_root, stem)
        tiles = [tile(read_image(vis), args.tile_height, f'{stem} visible'),
                 tile(read_image(ir), args.tile_height, 'infrared'),
                 tile(fuser(vis, ir), args.tile_height,
                      msfam_label(args.checkpoint))]
        for name, b in baselines:
            tiles.append(tile(b(vis, ir), args.tile_height, name))
        for m in methods:
            p = osp.join(args.data_root, 'tno42_published_fusions', m,
                         f'{stem}.png')
            if not osp.isfile(p):
                raise FileNotFoundError(f'visualize: published fusion {p!r} '
                                        'does not exist')
            tiles.append(tile(read_image(p), args.tile_height, m))
        rows.append(hstack(tiles))
    return vstack(rows)


def attention_figure(args, fuser) -> np.ndarray:
    import torch

    from msfam_mm.apis import prepare_pair
    from msfam_mm.utils import read_image
    vis_p, ir_p = find_pair(args.data_root, args.attention_pair)
    vis, ir, _ = prepare_pair(vis_p, ir_p)
    to_t = lambda a: torch.from_numpy(a).float().div(255)[None, None]  # noqa
    with torch.no_grad():
        _, att = fuser.net(to_t(vis), to_t(ir), return_attention=True)
    h = args.tile_height
    size = (round(vis.shape[1] * h / vis.shape[0]), h)
    rows = [hstack([tile(read_image(vis_p), h, 'visible'),
                    tile(read_image(ir_p), h, 'infrared'),
                    tile(fuser(vis_p, ir_p), h,
                         msfam_label(args.checkpoint))])]
    for s, maps in enumerate(att):
        row = []
        for key, label in (('spatial_vis', 'visible'),
                           ('spatial_ir', 'infrared'),
                           ('spatial', 'fused')):
            m = maps[key][0, 0].float().numpy()
            row.append(tile(heat(m, size), h,
                            f'block {s + 1} (1/{2 ** s}): {label}'))
        rows.append(hstack(row))
    return vstack(rows)


def write_png(path: str, img: np.ndarray) -> None:
    from msfam_mm.utils import write_bytes_atomic
    ok, buf = cv2.imencode('.png', img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError(f'visualize: cannot encode {path!r}')
    write_bytes_atomic(path, buf.tobytes())


def main(argv=None) -> int:
    args = parse_args(argv)
    import msfam_mm  # noqa: F401
    from msfam_mm.apis import build_fuser
    for name in ('config', 'checkpoint'):
        if not osp.isfile(getattr(args, name)):
            print(f'visualize.py: error: --{name} file '
                  f'{getattr(args, name)!r} does not exist', file=sys.stderr)
            return 2
    try:
        fuser = build_fuser('msfam', args.config, args.checkpoint,
                            device='cpu')
        baselines = [(n, build_fuser(n)) for n in args.baselines.split(',')
                     if n]
        methods = [m for m in args.methods.split(',') if m]
        ex = examples_figure(args, fuser, baselines, methods)
        att = attention_figure(args, fuser)
    except (FileNotFoundError, KeyError, ValueError) as e:
        print(f'visualize.py: error: {e}', file=sys.stderr)
        return 2
    out_ex = osp.join(args.out_dir, 'examples_tno.png')
    out_att = osp.join(args.out_dir, 'attention_maps.png')
    replaced = {p: osp.exists(p) for p in (out_ex, out_att)}
    write_png(out_ex, ex)
    write_png(out_att, att)
    for p in (out_ex, out_att):
        print(f'wrote {p} ({osp.getsize(p) / 1024:.0f} KiB'
              + (', replaced the previous file)' if replaced[p] else ')'),
              file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
