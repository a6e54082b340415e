"""Fused outputs next to both sources: one row per pair, one column per
image (visible, infrared, then each method), captioned, written as one PNG.

A number can reward an output that copies one source (MI, VIF and Qabf of
the infrared image itself are high); this figure shows it at a glance.

Example:
    >>> columns = [('MSFAM', {'tno42/05': 'work/fused/05.png'}),
    ...            ('SeAFusion', {'tno42/05': 'pub/SeAFusion/05.png'})]
    >>> write_fusion_figure('docs/results/figures/x.png',
    ...                     {'tno42/05': ('vi/05.png', 'ir/05.png')},
    ...                     columns, tile_height=160)   # doctest: +SKIP
"""
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from msfam_mm.utils.image_io import (ImageReadError, read_image, to_grey,
                                     write_image_atomic)
from .protocols import ReportError

__all__ = ['fusion_figure', 'write_fusion_figure', 'write_methods_figure',
           'CAPTION_H', 'GAP']

#: caption strip above each tile, and the white gap between tiles (pixels)
CAPTION_H, GAP = 18, 4


def _grey(path: str) -> np.ndarray:
    try:
        return to_grey(read_image(path))
    except ImageReadError as err:
        raise ReportError(str(err)) from None


def _tile(img: np.ndarray, height: int, caption: str) -> np.ndarray:
    width = max(1, round(img.shape[1] * height / img.shape[0]))
    body = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    out = np.full((height + CAPTION_H, width), 255, np.uint8)
    out[CAPTION_H:] = body
    scale = 0.4
    text = caption
    # cut a caption wider than its tile, visibly
    while text and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale,
                                   1)[0][0] > width - 2:
        text = text[:-4] + '...' if len(text) > 4 else ''
    cv2.putText(out, text, (1, CAPTION_H - 5), cv2.FONT_HERSHEY_SIMPLEX,
                scale, 0, 1, cv2.LINE_AA)
    return out


def fusion_figure(pairs: Dict[str, Tuple[str, str]],
                  columns: Sequence[Tuple[str, Dict[str, str]]],
                  tile_height: int = 160) -> np.ndarray:
    """The mosaic as a grey uint8 image: per pair in ``pairs`` (key ->
    visible, infrared paths) the two sources and each column's fused image
    (``(caption, {key: path})``), all scaled to ``tile_height``.

    Raises:
        ReportError: no pair, a column without the pair, an unreadable
            image, or a fused image whose size differs from its sources.
    """
    if not pairs:
        raise ReportError('fusion figure: no pair to show')
    if tile_height < 8:
        raise ReportError(f'fusion figure: tile height {tile_height} is '
                          'below 8 pixels')
    rows: List[np.ndarray] = []
    for key, (vis, ir) in pairs.items():
        v = _grey(vis)
        tiles = [_tile(v, tile_height, f'{key} visible'),
                 _tile(_grey(ir), tile_height, 'infrared')]
        for caption, paths in columns:
            if key not in paths:
                raise ReportError(f'fusion figure: {caption} has no fused '
                                  f'image of {key}')
            f = _grey(paths[key])
            if f.shape != v.shape:
                raise ReportError(f'fusion figure: {paths[key]} is '
                                  f'{f.shape[1]}x{f.shape[0]}, its sources '
                                  f'{v.shape[1]}x{v.shape[0]}')
            tiles.append(_tile(f, tile_height, caption))
        gap = np.full((tiles[0].shape[0], GAP), 255, np.uint8)
        row = tiles[0]
        for t in tiles[1:]:
            row = np.hstack([row, gap, t])
        rows.append(row)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1])),
                   constant_values=255) for r in rows]
    out = rows[0]
    for r in rows[1:]:
        out = np.vstack([out, np.full((GAP, width), 255, np.uint8), r])
    return out


def write_fusion_figure(path: str, pairs: Dict[str, Tuple[str, str]],
                        columns: Sequence[Tuple[str, Dict[str, str]]],
                        tile_height: int = 160) -> Tuple[int, int]:
    """Write :func:`fusion_figure` to ``path`` (PNG, atomically); return
    its (height, width)."""
    img = fusion_figure(pairs, columns, tile_height)
    write_image_atomic(path, img)
    return img.shape


def write_methods_figure(path: str, pairs: Dict[str, Tuple[str, str]],
                         methods: Sequence, work_dir: str,
                         tile_height: int = 160) -> Tuple[int, int]:
    """:func:`write_fusion_figure` with one column per report method
    (:class:`.methods.Method`), captioned with its name."""
    return write_fusion_figure(
        path, pairs, [(m.name, {k: m.fused_path(work_dir, k) for k in pairs})
                      for m in methods], tile_height)
