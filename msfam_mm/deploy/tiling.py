"""Memory-bounded fusion of large images: overlapping tiles, blended.

The fusion network's activations grow with the pixels (docs/benchmarks.md,
"Memory"): a 3840x2160 pair needs more memory than many machines have. A
large pair is therefore fused tile by tile; neighbouring tiles overlap by
``overlap`` pixels on each side and are blended with weights that fall
linearly to zero across the overlap, so there are no seams. Each tile's
raw output (before the min-max stretch) is blended, and the stretch is then
done once on the whole image, so that the tiles share one grey scale.

What tiling cannot keep is the image-wide statistics of the HIN blocks'
instance normalisation (Section 3.2): each tile normalises with its own
mean and variance. The difference to the untiled result is measured in
docs/benchmarks.md; tiles are therefore as large as the memory budget
allows (:func:`auto_tile_size`) and only images above it are tiled.

Example:
    >>> import torch
    >>> add = lambda a, b: a + b
    >>> v, i = torch.rand(1, 1, 100, 130), torch.rand(1, 1, 100, 130)
    >>> out = fuse_tiled(add, v, i, tile=64, overlap=8)
    >>> torch.allclose(out, v + i, atol=1e-6)
    True
"""
import math
from typing import Callable, List, Optional, Tuple

import torch

#: overlap of neighbouring tiles on each side, in pixels; three poolings
#: make one deepest-scale pixel 8 input pixels, and the deepest HIN block's
#: two 3x3 convolutions plus the decoder's reach 4 of those on each side
DEFAULT_OVERLAP = 64
#: tiles are at least this long per side (and multiples of 8)
MIN_TILE = 128

#: memory per million input pixels of one fused pair above the process's
#: base, per backend and precision: (peak RSS - base) / megapixels of the
#: largest tile, measured with ``tools/benchmark.py --memory 512x640
#: 2160x3840`` (docs/benchmarks.md, "Memory"); fp32 OpenVINO is taken as
#: twice its bf16 figure (activations twice as wide), not measured
BYTES_PER_MEGAPIXEL = {
    ('openvino', 'bf16'): 1.6e9,
    ('openvino', 'fp32'): 3.2e9,
    ('onnxruntime', 'fp32'): 4.0e9,
    ('torch', 'fp32'): 5.8e9,
    ('torch', 'bf16'): 5.8e9,
    ('torch', 'fp16'): 5.8e9,
}
#: the default memory budget of one fused tile, in bytes
DEFAULT_BUDGET = 4e9


def available_memory() -> Optional[float]:
    """Bytes of memory available to new allocations (Linux), else None."""
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def auto_tile_size(backend: str, precision: str,
                   budget: Optional[float] = None) -> int:
    """The side of the largest square tile that fits ``budget`` bytes
    (default: the smaller of :data:`DEFAULT_BUDGET` and half the memory
    available now), a multiple of 8."""
    if budget is None:
        free = available_memory()
        budget = DEFAULT_BUDGET if free is None else min(DEFAULT_BUDGET,
                                                         free / 2)
    per_mp = BYTES_PER_MEGAPIXEL.get((backend, precision),
                                     BYTES_PER_MEGAPIXEL[('torch', 'fp32')])
    side = int(math.sqrt(budget / per_mp * 1e6)) // 8 * 8
    return max(side, MIN_TILE)


def tile_starts(length: int, tile: int, overlap: int) -> List[int]:
    """Start offsets of windows of ``tile`` covering ``length``, neighbours
    overlapping by at least ``2 * overlap``; evenly spread.

    Example:
        >>> tile_starts(100, 64, 8)
        [0, 36]
        >>> tile_starts(50, 64, 8)
        [0]
    """
    if tile >= length:
        return [0]
    step = tile - 2 * overlap
    if step <= 0:
        raise ValueError(f'tile {tile} must exceed twice the overlap '
                         f'{overlap}')
    n = math.ceil((length - tile) / step) + 1
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def _ramp(length: int, start: int, stop: int, total: int, overlap: int,
          device) -> torch.Tensor:
    """1-D blend weights of a window [start, stop) of ``total``: rising
    linearly over ``overlap`` pixels except at the image borders."""
    pos = torch.arange(start, stop, device=device, dtype=torch.float32)
    w = torch.ones(length, device=device)
    if overlap > 0:
        if start > 0:
            w = torch.minimum(w, (pos - start + 0.5) / overlap)
        if stop < total:
            w = torch.minimum(w, (stop - pos - 0.5) / overlap)
    return w.clamp_(min=1e-3)


def fuse_tiled(fuse: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               vis: torch.Tensor, ir: torch.Tensor, tile: int,
               overlap: int = DEFAULT_OVERLAP) -> torch.Tensor:
    """Run ``fuse(vis_tile, ir_tile)`` on overlapping tiles and blend.

    Args:
        fuse: maps two ``(B, 1, h, w)`` tensors to the fused ``(B, 1, h,
            w)`` raw output (any size; the fusers pad inside).
        vis, ir: ``(B, 1, H, W)`` float tensors.
        tile: tile side in pixels (windows are ``tile x tile`` or the image
            side where it is shorter).
        overlap: blend width on each side of a tile border.

    Returns:
        ``(B, 1, H, W)`` float32 on ``vis``'s device.
    """
    if vis.shape != ir.shape or vis.dim() != 4:
        raise ValueError(f'fuse_tiled: expected two (B, 1, H, W) tensors of '
                         f'one shape, got {tuple(vis.shape)} and '
                         f'{tuple(ir.shape)}')
    if overlap < 0:
        raise ValueError(f'fuse_tiled: overlap must be >= 0, got {overlap}')
    h, w = vis.shape[-2:]
    th, tw = min(tile, h), min(tile, w)
    acc = torch.zeros(vis.shape, dtype=torch.float32, device=vis.device)
    weight = torch.zeros((1, 1, h, w), dtype=torch.float32,
                         device=vis.device)
    for y in tile_starts(h, th, overlap):
        wy = _ramp(th, y, y + th, h, overlap, vis.device)
        for x in tile_starts(w, tw, overlap):
            wx = _ramp(tw, x, x + tw, w, overlap, vis.device)
            out = fuse(vis[..., y:y + th, x:x + tw],
                       ir[..., y:y + th, x:x + tw]).float()
            wt = wy[:, None] * wx[None, :]
            acc[..., y:y + th, x:x + tw] += out.to(acc.device) * wt
            weight[..., y:y + th, x:x + tw] += wt
    return acc / weight


def tile_grid(h: int, w: int, tile: int,
              overlap: int = DEFAULT_OVERLAP) -> Tuple[int, int]:
    """Number of tiles (rows, columns) :func:`fuse_tiled` runs."""
    return (len(tile_starts(h, min(tile, h), overlap)),
            len(tile_starts(w, min(tile, w), overlap)))
