"""The same random flips over aligned images (Section 4.1 augmentation)."""
from typing import Sequence

import numpy as np

from msfam_mm.registry import TRANSFORMS

__all__ = ['SyncedRandomFlip']


@TRANSFORMS.register_module()
class SyncedRandomFlip:
    """Flip every image in ``keys`` the same way.

    Section 4.1: "We used random horizontal and vertical flips for data
    enhancement". Each direction is drawn independently, once per sample,
    and applied to all of ``keys`` (a visible/infrared pair stays aligned;
    ``keys=('img', )`` flips a single image).

    Args:
        keys: images to flip identically.
        hflip_prob: probability of a horizontal (left-right) flip.
        vflip_prob: probability of a vertical (up-down) flip.

    Adds ``flip`` = (horizontal, vertical) booleans.

    Example:
        >>> flip = SyncedRandomFlip(keys=('vis', 'ir'), hflip_prob=1.,
        ...                         vflip_prob=0.)
        >>> flip(dict(vis=np.array([[1, 2]]), ir=np.array([[3, 4]])))['vis']
        array([[2, 1]])
    """

    def __init__(self,
                 keys: Sequence[str] = ('vis', 'ir'),
                 hflip_prob: float = 0.5,
                 vflip_prob: float = 0.5) -> None:
        for name, p in (('hflip_prob', hflip_prob),
                        ('vflip_prob', vflip_prob)):
            if not 0. <= p <= 1.:
                raise ValueError(f'SyncedRandomFlip: {name} must be in '
                                 f'[0, 1], got {p}')
        if isinstance(keys, str) or not keys:
            raise TypeError(f'SyncedRandomFlip: keys must be a non-empty '
                            f'sequence of names, got {keys!r}')
        self.keys = tuple(keys)
        self.hflip_prob = hflip_prob
        self.vflip_prob = vflip_prob

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def transform(self, results: dict) -> dict:
        hflip = bool(np.random.rand() < self.hflip_prob)
        vflip = bool(np.random.rand() < self.vflip_prob)
        for k in self.keys:
            img = results[k]
            if hflip:
                img = img[:, ::-1]
            if vflip:
                img = img[::-1]
            results[k] = np.ascontiguousarray(img)
        results['flip'] = (hflip, vflip)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keys={self.keys}, hflip_prob='
                f'{self.hflip_prob}, vflip_prob={self.vflip_prob})')
