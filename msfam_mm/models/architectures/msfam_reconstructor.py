"""Stage 1 of MSFAM: "reconstruction training" (Section 3.3, Eq. 1)."""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel

from msfam_mm.registry import MODELS
from ._precision import float32_losses

__all__ = ['MSFAMReconstructor']


def _sample_meta(sample, key: str, default=None):
    if sample is None:
        return default
    return sample.metainfo.get(key, default) if hasattr(
        sample, 'metainfo') else sample.get(key, default)


@MODELS.register_module()
class MSFAMReconstructor(BaseModel):
    """Encoder + decoder of MSFAM trained to reconstruct single images.

    Section 3.3: "In the first 'reconstruction' phase, we train the ...
    encoding and decoding part of the model with a single visible or
    infrared image", with ``L1 + 0.84 (1 - SSIM)`` (Eq. 1). The network is
    an ``MSFAMNet`` built without fusion blocks (``with_fusion=False``), so
    every parameter receives a gradient (needed by DDP) and the checkpoint
    holds exactly the ``net.encoder.*`` / ``net.decoder.*`` weights that
    stage 2 (:class:`MSFAMFusion`) loads.

    Args:
        net: config of the network (``MSFAMNet``).
        loss: config of the reconstruction loss (``ReconstructionLoss``).
        data_preprocessor: config of ``FusionDataPreprocessor``.

    ``forward(inputs, data_samples, mode)`` with ``inputs`` (B, 1, H, W):
    ``'loss'`` -> ``{'loss_rec': ...}``; ``'predict'`` -> list of dicts
    ``{'rec', 'img', 'img_path'}`` (tensors (1, H, W)); ``'tensor'`` -> the
    reconstruction (B, 1, H, W).

    Example:
        >>> model = MSFAMReconstructor()
        >>> x = torch.rand(2, 1, 64, 64)
        >>> sorted(model(x, mode='loss'))
        ['loss_rec']
    """

    def __init__(self,
                 net: dict = dict(type='MSFAMNet', with_fusion=False),
                 loss: dict = dict(type='ReconstructionLoss'),
                 data_preprocessor: Optional[dict] = dict(
                     type='FusionDataPreprocessor'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.net = MODELS.build(net)
        self.loss_module = MODELS.build(loss)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], list,
                                               torch.Tensor]:
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
            raise ValueError('MSFAMReconstructor: inputs must be a (B, 1, H, '
                             f'W) tensor, got {type(inputs).__name__}')
        rec = self.net.reconstruct(inputs)
        if mode == 'loss':
            with float32_losses(rec):
                loss = self.loss_module(inputs.float(), rec.float())
            return loss if isinstance(loss, dict) else dict(loss_rec=loss)
        if mode == 'predict':
            samples = data_samples or [None] * inputs.shape[0]
            results: List[dict] = []
            for i, sample in enumerate(samples):
                results.append(
                    dict(rec=rec[i].detach().float(), img=inputs[i],
                         img_path=_sample_meta(sample, 'img_path')))
            return results
        if mode == 'tensor':
            return rec
        raise ValueError(f'MSFAMReconstructor: invalid mode {mode!r} '
                         "(use 'loss', 'predict' or 'tensor')")
