"""Simple pixel-level fusion rules producing "fused" training images.

Section 3.5: the Semantic Constraint classifier is trained with visible
images (label (1, 0)), infrared images ((0, 1)) and "the fusion results of
some existing algorithms" ((1, 1)). Besides published fusions (a folder of
images, see ``configs/_base_/datasets/constraint_classifier.py``), we
synthesise fused images on the fly from each aligned pair with classic rules,
so every training pair yields a fresh (1, 1) example:

- ``weighted_average``: ``w * vis + (1 - w) * ir``, ``w ~ U(weight_range)``;
- ``max``: per-pixel maximum (choose-max rule);
- ``two_scale``: Gaussian base layers averaged, detail layers chosen by
  largest magnitude (a minimal two-scale decomposition fusion in the spirit
  of TIF, the paper's ref. [7]).

These helpers are deliberately small; fuller baseline fusers live in
``msfam_mm.apis``.
"""
import zlib
from pathlib import Path
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from msfam_mm.registry import TRANSFORMS

__all__ = ['RandomRuleFusion', 'fuse_weighted_average', 'fuse_max',
           'fuse_two_scale']

# Gaussian sigma of the two-scale base layer, in pixels; TIF uses a 35x35
# mean filter, a sigma of a few pixels gives a comparable base/detail split
# on 256-pixel crops.
_TWO_SCALE_SIGMA = 5.0


def _check_pair(vis: np.ndarray, ir: np.ndarray) -> None:
    if vis.shape != ir.shape:
        raise ValueError(f'fusion rule: vis {vis.shape} and ir {ir.shape} '
                         'must have the same shape')


def fuse_weighted_average(vis: np.ndarray, ir: np.ndarray,
                          weight: float = 0.5) -> np.ndarray:
    """``weight * vis + (1 - weight) * ir`` as uint8 (inputs uint8)."""
    _check_pair(vis, ir)
    out = weight * vis.astype(np.float32) + (1. - weight) * ir.astype(
        np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def fuse_max(vis: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Per-pixel maximum of the two images."""
    _check_pair(vis, ir)
    return np.maximum(vis, ir)


def fuse_two_scale(vis: np.ndarray, ir: np.ndarray,
                   sigma: float = _TWO_SCALE_SIGMA) -> np.ndarray:
    """Average the Gaussian base layers, keep the stronger detail layer."""
    _check_pair(vis, ir)
    v, i = vis.astype(np.float32), ir.astype(np.float32)
    bv = cv2.GaussianBlur(v, (0, 0), sigma)
    bi = cv2.GaussianBlur(i, (0, 0), sigma)
    dv, di = v - bv, i - bi
    detail = np.where(np.abs(dv) >= np.abs(di), dv, di)
    out = 0.5 * (bv + bi) + detail
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class RandomRuleFusion:
    """Fuse ``results[keys[0]]`` and ``results[keys[1]]`` with a random rule.

    Args:
        keys: the (visible, infrared) images, uint8 (H, W).
        out_key: where the fused uint8 image goes.
        rules: rules to draw from uniformly
            (``'weighted_average'``, ``'max'``, ``'two_scale'``).
        weight_range: range of the visible weight of ``weighted_average``.
        seed: ``None`` (training): a fresh rule and weight at every call,
            from numpy's global generator. An int (validation): the rule
            and weight are drawn from a generator seeded with ``seed`` and
            the visible image's file name (``results[keys[0] + '_path']``),
            so every check fuses each pair the same way and "best
            checkpoint" compares like with like.

    Adds ``fusion_rule`` (the rule's name).

    Example:
        >>> t = RandomRuleFusion(rules=('max',))
        >>> t(dict(vis=np.array([[1, 9]], np.uint8),
        ...        ir=np.array([[5, 2]], np.uint8)))['img']
        array([[5, 9]], dtype=uint8)
    """

    RULES = ('weighted_average', 'max', 'two_scale')

    def __init__(self,
                 keys: Sequence[str] = ('vis', 'ir'),
                 out_key: str = 'img',
                 rules: Sequence[str] = RULES,
                 weight_range: Tuple[float, float] = (0.3, 0.7),
                 seed: Optional[int] = None) -> None:
        if len(keys) != 2:
            raise ValueError(f'RandomRuleFusion: keys must name the '
                             f'(visible, infrared) pair, got {keys!r}')
        unknown = [r for r in rules if r not in self.RULES]
        if not rules or unknown:
            raise ValueError(f'RandomRuleFusion: unknown rules {unknown} '
                             f'(choose from {self.RULES})')
        lo, hi = weight_range
        if not 0. <= lo <= hi <= 1.:
            raise ValueError(f'RandomRuleFusion: weight_range must satisfy '
                             f'0 <= lo <= hi <= 1, got {weight_range}')
        self.keys = tuple(keys)
        self.out_key = out_key
        self.rules = tuple(rules)
        self.weight_range = (float(lo), float(hi))
        self.seed = seed

    def _generator(self, results: dict):
        """``(randint, uniform)`` of numpy's global generator, or of one
        seeded with ``seed`` and the pair's visible file (the last three
        path parts, e.g. ``tno42/vi/01.png``, so the draw does not depend
        on where the data root lies)."""
        if self.seed is None:
            return np.random.randint, np.random.uniform
        path_key = f'{self.keys[0]}_path'
        if path_key not in results:
            raise KeyError(f'RandomRuleFusion(seed={self.seed}): the results '
                           f'have no {path_key!r} to fix the rule by; load '
                           'the pair with LoadGreyImage first')
        name = '/'.join(Path(str(results[path_key])).parts[-3:])
        rng = np.random.default_rng([self.seed,
                                     zlib.crc32(name.encode('utf-8'))])
        return rng.integers, rng.uniform

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def transform(self, results: dict) -> dict:
        vis, ir = results[self.keys[0]], results[self.keys[1]]
        randint, uniform = self._generator(results)
        rule = self.rules[int(randint(len(self.rules)))]
        if rule == 'weighted_average':
            weight = float(uniform(*self.weight_range))
            fused = fuse_weighted_average(vis, ir, weight)
        elif rule == 'max':
            fused = fuse_max(vis, ir)
        else:
            fused = fuse_two_scale(vis, ir)
        results[self.out_key] = fused
        results['fusion_rule'] = rule
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keys={self.keys}, out_key='
                f'{self.out_key!r}, rules={self.rules}, weight_range='
                f'{self.weight_range}, seed={self.seed})')
