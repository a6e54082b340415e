"""Loading of 8-bit grey images for the fusion pipelines.

docs/CONTRACTS.md: datasets read 8-bit files; colour visible images are
converted to grey with ITU-R BT.601 luma (``cv2.COLOR_BGR2GRAY``), which is
also how Section 4.1 of the paper "grayed visible images". Some TNO infrared
files are stored as 3-channel grey; the same conversion returns their grey
values unchanged.
"""
import os
from typing import Sequence

import numpy as np

from msfam_mm.registry import TRANSFORMS
from msfam_mm.utils.image_io import read_image, to_grey

__all__ = ['LoadGreyImage', 'read_grey_image']


def read_grey_image(path: str) -> np.ndarray:
    """Read an 8-bit image file as a (H, W) uint8 grey array.

    The same checked reader as inference (``msfam_mm.utils.read_image``):
    OpenCV alone decodes a truncated JPEG into grey rows with only a
    warning, which training would then learn from.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is truncated, cannot be decoded, or is not
            8-bit (the message names it).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'image file {path!r} does not exist')
    return np.ascontiguousarray(to_grey(read_image(path)))


@TRANSFORMS.register_module()
class LoadGreyImage:
    """Load one or several aligned images as (H, W) uint8 grey arrays.

    For every ``key`` in ``keys`` reads ``results[key + '_path']`` into
    ``results[key]``. With several keys (a visible/infrared pair) the images
    must have the same size, otherwise a ``ValueError`` names both files.
    Adds ``ori_shape`` and ``img_shape`` = (H, W).

    Args:
        keys: names of the images to load, e.g. ``('img',)`` for single-band
            data (stage 1, classifier) or ``('vis', 'ir')`` for pairs.

    Example:
        >>> t = LoadGreyImage(keys=('vis', 'ir'))
        >>> out = t(dict(vis_path='tno42/vi/01.png',
        ...              ir_path='tno42/ir/01.png'))
        >>> out['vis'].shape == out['ir'].shape == out['ori_shape']
        True
    """

    def __init__(self, keys: Sequence[str] = ('img', )) -> None:
        if isinstance(keys, str) or not keys:
            raise TypeError(f'LoadGreyImage: keys must be a non-empty '
                            f'sequence of names, got {keys!r}')
        self.keys = tuple(keys)

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def transform(self, results: dict) -> dict:
        shape = None
        first = None
        for key in self.keys:
            path_key = f'{key}_path'
            if path_key not in results:
                raise KeyError(f'LoadGreyImage: sample has no {path_key!r} '
                               f'(keys: {sorted(results)})')
            path = results[path_key]
            img = read_grey_image(path)
            if shape is None:
                shape, first = img.shape, path
            elif img.shape != shape:
                raise ValueError(
                    f'images of one sample must be aligned: {path!r} is '
                    f'{img.shape[1]}x{img.shape[0]} but {first!r} is '
                    f'{shape[1]}x{shape[0]} (WxH)')
            results[key] = img
        results['ori_shape'] = tuple(shape)
        results['img_shape'] = tuple(shape)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(keys={self.keys})'
