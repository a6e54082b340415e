"""Identical random crop of aligned images (Section 4.1: 320x256 inputs)."""
from typing import Sequence, Tuple

import numpy as np

from msfam_mm.registry import TRANSFORMS

__all__ = ['PairedRandomCrop']


@TRANSFORMS.register_module()
class PairedRandomCrop:
    """Crop the same random window out of every image in ``keys``.

    Section 4.1: "The input images in the training phase were fixed at
    320 x 256". The paper does not say which side is which; we read it as
    width x height (the KAIST/FLIR 640x512 frames halved), i.e.
    ``crop_size=(256, 320)`` in (H, W) order. Images smaller than the crop
    (e.g. TNO's 280x280 frames) are first padded by reflection to the crop
    size, so a sample is never dropped and no artificial edges are added.

    Args:
        crop_size: (height, width) of the crop.
        keys: images to crop identically, each a (H, W) array.
        pad_mode: ``numpy.pad`` mode used when an image is too small.
        center: take the central window instead of a random one
            (deterministic validation crops).

    Adds ``img_shape`` (the crop size) and ``crop_bbox`` (x1, y1, x2, y2 in
    the padded image).

    Example:
        >>> crop = PairedRandomCrop(crop_size=(64, 64), keys=('vis', 'ir'))
        >>> out = crop(dict(vis=np.zeros((100, 80), np.uint8),
        ...                 ir=np.ones((100, 80), np.uint8)))
        >>> out['vis'].shape, out['ir'].shape
        ((64, 64), (64, 64))
    """

    def __init__(self,
                 crop_size: Tuple[int, int] = (256, 320),
                 keys: Sequence[str] = ('vis', 'ir'),
                 pad_mode: str = 'reflect',
                 center: bool = False) -> None:
        if (len(crop_size) != 2 or
                any(int(s) != s or s < 1 for s in crop_size)):
            raise ValueError(f'PairedRandomCrop: crop_size must be two '
                             f'positive ints (h, w), got {crop_size!r}')
        if isinstance(keys, str) or not keys:
            raise TypeError(f'PairedRandomCrop: keys must be a non-empty '
                            f'sequence of names, got {keys!r}')
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.keys = tuple(keys)
        self.pad_mode = pad_mode
        self.center = center

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def transform(self, results: dict) -> dict:
        shapes = {k: results[k].shape[:2] for k in self.keys}
        if len(set(shapes.values())) != 1:
            paths = [results.get(k + '_path') for k in self.keys]
            raise ValueError(f'PairedRandomCrop: images are not aligned, '
                             f'shapes {shapes} (paths: {paths})')
        h, w = shapes[self.keys[0]]
        ch, cw = self.crop_size
        pad_h, pad_w = max(ch - h, 0), max(cw - w, 0)
        if pad_h or pad_w:
            for k in self.keys:
                img = results[k]
                pad = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (img.ndim - 2)
                results[k] = np.pad(img, pad, mode=self.pad_mode)
            h, w = h + pad_h, w + pad_w
        if self.center:
            y1, x1 = (h - ch) // 2, (w - cw) // 2
        else:
            y1 = np.random.randint(0, h - ch + 1)
            x1 = np.random.randint(0, w - cw + 1)
        for k in self.keys:
            results[k] = np.ascontiguousarray(
                results[k][y1:y1 + ch, x1:x1 + cw])
        results['img_shape'] = (ch, cw)
        results['crop_bbox'] = (x1, y1, x1 + cw, y1 + ch)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'keys={self.keys}, pad_mode={self.pad_mode!r}, '
                f'center={self.center})')
