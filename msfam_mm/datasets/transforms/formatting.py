"""Packing of fusion samples into model inputs and data samples."""
from typing import Sequence

import numpy as np
import torch
from mmengine.structures import BaseDataElement

from msfam_mm.registry import TRANSFORMS

__all__ = ['PackFusionInputs']


@TRANSFORMS.register_module()
class PackFusionInputs:
    """Pack grey images as uint8 tensors (1, H, W) plus a data sample.

    ``inputs`` is the tensor itself when ``keys`` has one name (stage 1 and
    the classifier) and a dict ``{key: tensor}`` otherwise (stage-2 pairs
    ``{'vis': ..., 'ir': ...}``). ``FusionDataPreprocessor`` stacks them and
    scales to [0, 1]. The data sample is a :class:`BaseDataElement` whose
    metainfo holds the ``meta_keys`` present in ``results``; a ``gt_label``
    (the classifier's multi-label target) becomes a float tensor field.

    Example:
        >>> pack = PackFusionInputs(keys=('vis', 'ir'))
        >>> out = pack(dict(vis=np.zeros((4, 5), np.uint8),
        ...                 ir=np.zeros((4, 5), np.uint8)))
        >>> out['inputs']['vis'].shape
        torch.Size([1, 4, 5])
    """

    def __init__(self,
                 keys: Sequence[str] = ('vis', 'ir'),
                 meta_keys: Sequence[str] = (
                     'img_path', 'vis_path', 'ir_path', 'ori_shape',
                     'img_shape', 'crop_bbox', 'flip', 'fusion_rule')
                 ) -> None:
        if isinstance(keys, str) or not keys:
            raise TypeError(f'PackFusionInputs: keys must be a non-empty '
                            f'sequence of names, got {keys!r}')
        self.keys = tuple(keys)
        self.meta_keys = tuple(meta_keys)

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    @staticmethod
    def _to_tensor(img: np.ndarray, key: str) -> torch.Tensor:
        if not isinstance(img, np.ndarray) or img.ndim != 2:
            raise ValueError(f'PackFusionInputs: {key!r} must be a (H, W) '
                             f'grey array, got {getattr(img, "shape", img)}')
        return torch.from_numpy(np.ascontiguousarray(img))[None]

    def transform(self, results: dict) -> dict:
        tensors = {}
        for key in self.keys:
            if key not in results:
                raise KeyError(f'PackFusionInputs: sample has no image '
                               f'{key!r} (keys: {sorted(results)})')
            tensors[key] = self._to_tensor(results[key], key)
        inputs = tensors[self.keys[0]] if len(self.keys) == 1 else tensors
        meta = {k: results[k] for k in self.meta_keys if k in results}
        sample = BaseDataElement(metainfo=meta)
        if 'gt_label' in results:
            sample.gt_label = torch.as_tensor(results['gt_label'],
                                              dtype=torch.float32)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keys={self.keys}, '
                f'meta_keys={self.meta_keys})')
