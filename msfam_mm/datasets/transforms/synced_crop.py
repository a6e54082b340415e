"""The same crop window over aligned images (Section 4.1: 320x256 inputs).

``SyncedRandomCrop`` draws the window (training); ``SyncedCenterCrop``
takes the central one (deterministic validation crops). Both cut the same
window out of every image named in ``keys``: a visible/infrared pair stays
aligned, and a single image (``keys=('img', )``) is cropped the same way.
"""
from abc import ABC, abstractmethod
from typing import Sequence, Tuple

import numpy as np

from msfam_mm.registry import TRANSFORMS

__all__ = ['SyncedRandomCrop', 'SyncedCenterCrop']


class _SyncedCrop(ABC):
    """Shared checks, padding and cutting; subclasses choose the window."""

    def __init__(self,
                 crop_size: Tuple[int, int] = (256, 320),
                 keys: Sequence[str] = ('vis', 'ir'),
                 pad_mode: str = 'reflect') -> None:
        name = type(self).__name__
        if (len(crop_size) != 2 or
                any(int(s) != s or s < 1 for s in crop_size)):
            raise ValueError(f'{name}: crop_size must be two positive ints '
                             f'(h, w), got {crop_size!r}')
        if isinstance(keys, str) or not keys:
            raise TypeError(f'{name}: keys must be a non-empty sequence of '
                            f'names, got {keys!r}')
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.keys = tuple(keys)
        self.pad_mode = pad_mode

    @abstractmethod
    def window(self, h: int, w: int) -> Tuple[int, int]:
        """Top-left corner (y1, x1) of the crop in an (h, w) image that is
        at least as large as the crop."""

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def transform(self, results: dict) -> dict:
        shapes = {k: results[k].shape[:2] for k in self.keys}
        if len(set(shapes.values())) != 1:
            paths = [results.get(k + '_path') for k in self.keys]
            raise ValueError(f'{type(self).__name__}: images are not '
                             f'aligned, shapes {shapes} (paths: {paths})')
        h, w = shapes[self.keys[0]]
        ch, cw = self.crop_size
        pad_h, pad_w = max(ch - h, 0), max(cw - w, 0)
        if pad_h or pad_w:
            for k in self.keys:
                img = results[k]
                pad = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (img.ndim - 2)
                results[k] = np.pad(img, pad, mode=self.pad_mode)
            h, w = h + pad_h, w + pad_w
        y1, x1 = self.window(h, w)
        for k in self.keys:
            results[k] = np.ascontiguousarray(
                results[k][y1:y1 + ch, x1:x1 + cw])
        results['img_shape'] = (ch, cw)
        results['crop_bbox'] = (x1, y1, x1 + cw, y1 + ch)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'keys={self.keys}, pad_mode={self.pad_mode!r})')


@TRANSFORMS.register_module()
class SyncedRandomCrop(_SyncedCrop):
    """Crop the same random window out of every image in ``keys``.

    Section 4.1: "The input images in the training phase were fixed at
    320 x 256". The paper does not say which side is which; we read it as
    width x height (the KAIST/FLIR 640x512 frames halved), i.e.
    ``crop_size=(256, 320)`` in (H, W) order. Images smaller than the crop
    (e.g. TNO's 280x280 frames) are first padded by reflection to the crop
    size, so a sample is never dropped and no artificial edges are added.

    Args:
        crop_size: (height, width) of the crop.
        keys: images to crop identically, each a (H, W) array of the same
            size.
        pad_mode: ``numpy.pad`` mode used when an image is too small.

    Adds ``img_shape`` (the crop size) and ``crop_bbox`` (x1, y1, x2, y2 in
    the padded image).

    Example:
        >>> crop = SyncedRandomCrop(crop_size=(64, 64), keys=('vis', 'ir'))
        >>> out = crop(dict(vis=np.zeros((100, 80), np.uint8),
        ...                 ir=np.ones((100, 80), np.uint8)))
        >>> out['vis'].shape, out['ir'].shape
        ((64, 64), (64, 64))
    """

    def window(self, h: int, w: int) -> Tuple[int, int]:
        ch, cw = self.crop_size
        y1 = np.random.randint(0, h - ch + 1)
        x1 = np.random.randint(0, w - cw + 1)
        return y1, x1


@TRANSFORMS.register_module()
class SyncedCenterCrop(_SyncedCrop):
    """Crop the central window out of every image in ``keys``.

    The deterministic counterpart of :class:`SyncedRandomCrop` (same
    arguments, padding and outputs): validation crops that are the same at
    every check. With an odd margin the window sits half a pixel towards
    the top-left.

    Example:
        >>> crop = SyncedCenterCrop(crop_size=(2, 2), keys=('img', ))
        >>> crop(dict(img=np.arange(16).reshape(4, 4)))['img']
        array([[ 5,  6],
               [ 9, 10]])
    """

    def window(self, h: int, w: int) -> Tuple[int, int]:
        ch, cw = self.crop_size
        return (h - ch) // 2, (w - cw) // 2
