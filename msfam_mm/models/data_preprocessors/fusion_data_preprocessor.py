"""Batching and scaling of grey fusion images (docs/CONTRACTS.md)."""
from typing import Dict, List, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from msfam_mm.registry import MODELS

__all__ = ['FusionDataPreprocessor']

# 8-bit images are scaled to [0, 1] (docs/CONTRACTS.md "Conventions").
_UINT8_MAX = 255.


@MODELS.register_module()
class FusionDataPreprocessor(BaseDataPreprocessor):
    """Stack grey images to (B, 1, H, W) float in [0, 1] on the model device.

    ``inputs`` from ``PackFusionInputs`` is either a list of (1, H, W)
    tensors (single-band data) or a dict of such lists (``{'vis': [...],
    'ir': [...]}``); the output keeps that structure with stacked tensors.
    uint8 tensors are divided by 255; floating tensors are taken as already
    in [0, 1]. All images of a batch must have the same size (training
    crops do; variable-size validation/test uses ``batch_size=1``).

    Example:
        >>> pre = FusionDataPreprocessor()
        >>> img = torch.full((1, 4, 4), 255, dtype=torch.uint8)
        >>> batch = dict(inputs=[img], data_samples=None)
        >>> pre(batch)['inputs'].max().item()
        1.0
    """

    def _stack(self, images: Union[Sequence[torch.Tensor], torch.Tensor],
               name: str) -> torch.Tensor:
        if isinstance(images, torch.Tensor):
            images = list(images) if images.dim() == 4 else [images]
        if len(images) == 0:
            raise ValueError(f'FusionDataPreprocessor: empty batch for {name}')
        shapes = {tuple(img.shape) for img in images}
        for img in images:
            if not isinstance(img, torch.Tensor) or img.dim() != 3 or \
                    img.shape[0] != 1:
                raise ValueError(
                    f'FusionDataPreprocessor: {name} images must be (1, H, W)'
                    f' grey tensors, got {getattr(img, "shape", type(img))}')
        if len(shapes) != 1:
            raise ValueError(
                f'FusionDataPreprocessor: {name} images of one batch differ '
                f'in size {sorted(shapes)}; crop them (training) or use '
                'batch_size=1 (validation/test at original size)')
        batch = torch.stack(list(images))
        if batch.dtype == torch.uint8:
            return batch.float() / _UINT8_MAX
        if not batch.is_floating_point():
            raise TypeError(f'FusionDataPreprocessor: {name} images must be '
                            f'uint8 or float, got {batch.dtype}')
        return batch.float()

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, dict):
            out: Union[Dict[str, torch.Tensor], torch.Tensor] = {
                k: self._stack(v, f'inputs[{k!r}]') for k, v in inputs.items()
            }
        else:
            out = self._stack(inputs, 'inputs')
        samples: Union[List, None] = data.get('data_samples', None)
        return dict(inputs=out, data_samples=samples)
