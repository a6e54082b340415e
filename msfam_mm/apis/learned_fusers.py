"""Fusers built on the MSFAM network: the learned ``'msfam'`` method and
the ``'nestfuse'`` reconstruction-training baseline.

* ``'msfam'`` (Section 3, inference as in Section 4.1): the stage-2 network
  without the Semantic Constraint module, ``decode(fuse(encode(vis),
  encode(ir)))``, output min-max normalised to 0-255.
* ``'nestfuse'`` (Section 4.2.1, Table 1 row "Rec"): the stage-1
  auto-encoder (encoder + decoder only) with NestFuse's hand-designed
  attention fusion strategy (Li et al., IEEE TIM 2020, Section III-B) at
  each of the four scales in place of the learned fusion blocks.

Example:
    >>> from msfam_mm.apis import build_fuser
    >>> fuser = build_fuser('msfam', config='configs/msfam_stage2.py',
    ...                     checkpoint='msfam.pth')      # doctest: +SKIP
    >>> fused = fuser('vis.png', 'ir.png')               # doctest: +SKIP
"""
import os
from typing import List, Optional

import torch
import torch.nn.functional as F

from ..registry import FUSERS
from .base_fuser import BaseFuser
from .model_loading import (DEFAULT_MSFAM_CHECKPOINT, DEFAULT_MSFAM_CONFIG,
                            ConfigLike, file_sha256, load_msfam_net)

# keeps the weight ratios finite where both feature maps are zero
_EPS = 1e-5


def nestfuse_spatial_fusion(f1: torch.Tensor, f2: torch.Tensor,
                            mode: str = 'softmax') -> torch.Tensor:
    """NestFuse spatial attention fusion of two ``(B, C, H, W)`` features.

    ``mode='l1_ratio'`` follows the NestFuse paper: per-pixel weights
    ``||phi_k(x, y)||_1 / sum_i ||phi_i(x, y)||_1``. ``mode='softmax'``
    follows its released implementation: a softmax over the two sources of
    the channel-mean activity, i.e. ``sigmoid(mean(f1) - mean(f2))``.
    """
    if mode == 'softmax':
        w1 = torch.sigmoid(f1.mean(dim=1, keepdim=True)
                           - f2.mean(dim=1, keepdim=True))
    elif mode == 'l1_ratio':
        a1 = f1.abs().sum(dim=1, keepdim=True)
        a2 = f2.abs().sum(dim=1, keepdim=True)
        w1 = a1 / (a1 + a2 + _EPS)
    else:
        raise ValueError(f"nestfuse_spatial_fusion: mode must be 'softmax' "
                         f"or 'l1_ratio', got {mode!r}")
    return w1 * f1 + (1.0 - w1) * f2


def nestfuse_channel_fusion(f1: torch.Tensor, f2: torch.Tensor
                            ) -> torch.Tensor:
    """NestFuse channel attention fusion: per-channel weights from global
    average pooling, ``P(phi_k^c) / sum_i P(phi_i^c)``. Absolute values are
    pooled so that the weights stay in [0, 1] for features that can be
    negative (MSFAM's HIN blocks use LeakyReLU; NestFuse's ReLU features
    are non-negative, for which this is identical)."""
    p1 = f1.abs().mean(dim=(2, 3), keepdim=True)
    p2 = f2.abs().mean(dim=(2, 3), keepdim=True)
    w1 = p1 / (p1 + p2 + _EPS)
    return w1 * f1 + (1.0 - w1) * f2


def nestfuse_attention_fusion(f1: torch.Tensor, f2: torch.Tensor,
                              spatial_mode: str = 'softmax') -> torch.Tensor:
    """NestFuse's fusion strategy: mean of the spatial- and channel-attention
    fused features (NestFuse, Eq. 7).

    Example:
        >>> f1, f2 = torch.rand(2, 1, 8, 5, 6)
        >>> nestfuse_attention_fusion(f1, f2).shape
        torch.Size([1, 8, 5, 6])
    """
    if f1.shape != f2.shape:
        raise ValueError(f'nestfuse_attention_fusion: feature shapes differ: '
                         f'{tuple(f1.shape)} vs {tuple(f2.shape)}')
    return 0.5 * (nestfuse_spatial_fusion(f1, f2, spatial_mode)
                  + nestfuse_channel_fusion(f1, f2))


class _FullPrecision(torch.nn.Module):
    """Runs the wrapped module in fp32 even under autocast."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x):
        with torch.autocast(device_type=x.device.type, enabled=False):
            return self.module(x.float())


class _NetFuser(BaseFuser):
    """Shared part of the fusers that run an MSFAMNet."""

    requires_model = True
    default_normalize = 'minmax'
    _with_fusion: Optional[bool] = None
    _required_prefixes = ('',)

    def __init__(self, config: ConfigLike, checkpoint: str,
                 channels_last: Optional[bool] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if config is None:
            raise ValueError(f'{type(self).__name__} needs a config '
                             '(e.g. configs/msfam_stage2.py)')
        self.config = config
        self.checkpoint = os.fspath(checkpoint) if checkpoint else checkpoint
        self.net = load_msfam_net(config, checkpoint, self._with_fusion,
                                  self._required_prefixes).to(self.device)
        # channels-last helps cuDNN's fp16/bf16 kernels; on CPU it is off by
        # default (see docs/inference.md for the measurement)
        if channels_last is None:
            channels_last = self.device.type == 'cuda'
        self.channels_last = bool(channels_last)
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        for p in self.net.parameters():
            p.requires_grad_(False)
        # The output is min-max stretched (Section 4.1): a random or weakly
        # contrasted output spans a small value range that bf16/fp16 rounding
        # of the last layer's result would turn into a few visible grey
        # levels. The 1x1 output conv costs nothing, so it stays in fp32.
        out_conv = getattr(self.net.decoder, 'out_conv', None)
        if self.precision != 'fp32' and isinstance(out_conv, torch.nn.Module):
            self.net.decoder.out_conv = _FullPrecision(out_conv)
        self._sha256: Optional[str] = None

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) \
            if self.channels_last else x

    def describe(self):
        if self._sha256 is None:
            self._sha256 = file_sha256(self.checkpoint)
        config = self.config if isinstance(self.config, (str, os.PathLike)) \
            else 'in-memory config'
        return dict(super().describe(), config=os.fspath(config),
                    checkpoint=self.checkpoint,
                    checkpoint_sha256=self._sha256,
                    channels_last=self.channels_last)


@FUSERS.register_module(name='msfam')
class MSFAMFuser(_NetFuser):
    """The learned MSFAM fusion (``'msfam'``): stage-2 MSFAMNet forward.

    Args:
        config: stage-2 config or a config whose model is an ``MSFAMNet``;
            ``None`` = ``configs/msfam_stage2.py``.
        checkpoint: mmengine checkpoint of that config or a bare
            ``MSFAMNet`` state dict (fp32 or fp16); ``None`` = the shipped
            weights ``checkpoints/msfam_cpu_stage2_fp16.pth``
            (checkpoints/README.md).
        channels_last (bool, optional): run in channels-last memory format;
            ``None`` = on for CUDA, off for CPU.
        **kwargs: ``color``, ``normalize`` (default ``'minmax'``, Section
            4.1), ``device``, ``precision``; see :class:`BaseFuser`.
    """

    _with_fusion = True
    has_default_weights = True

    def __init__(self, config: Optional[ConfigLike] = None,
                 checkpoint: Optional[str] = None, **kwargs) -> None:
        if checkpoint is None:
            if not os.path.isfile(DEFAULT_MSFAM_CHECKPOINT):
                raise FileNotFoundError(
                    'MSFAMFuser: no checkpoint given and the shipped weights '
                    f'{DEFAULT_MSFAM_CHECKPOINT} are missing (they live in '
                    'the source checkout; pass --checkpoint)')
            checkpoint = DEFAULT_MSFAM_CHECKPOINT
        super().__init__(config if config is not None
                         else DEFAULT_MSFAM_CONFIG, checkpoint, **kwargs)

    def fuse_tensor(self, vis, ir):
        return self.net(self._input(vis), self._input(ir))


@FUSERS.register_module(name=['nestfuse', 'nestfuse_strategy'])
class NestFuseStrategyFuser(_NetFuser):
    """Stage-1 MSFAM auto-encoder + NestFuse's hand-designed fusion
    strategy (``'nestfuse'``; the paper's "Rec" row of Table 1).

    Args:
        config: stage-1 (or stage-2) config; only the encoder and decoder
            are built and loaded.
        checkpoint: stage-1 (or stage-2) checkpoint.
        spatial_mode (str): ``'softmax'`` (NestFuse's released code,
            default) or ``'l1_ratio'`` (NestFuse paper's equation); see
            :func:`nestfuse_spatial_fusion`.
        **kwargs: see :class:`MSFAMFuser`.
    """

    _with_fusion = False
    _required_prefixes = ('encoder.', 'decoder.')

    def __init__(self, config, checkpoint, spatial_mode: str = 'softmax',
                 **kwargs) -> None:
        if spatial_mode not in ('softmax', 'l1_ratio'):
            raise ValueError(f"NestFuseStrategyFuser: spatial_mode must be "
                             f"'softmax' or 'l1_ratio', got {spatial_mode!r}")
        super().__init__(config, checkpoint, **kwargs)
        self.spatial_mode = spatial_mode

    def fuse_feature_lists(self, feats_vis: List[torch.Tensor],
                           feats_ir: List[torch.Tensor]
                           ) -> List[torch.Tensor]:
        return [nestfuse_attention_fusion(fv, fi, self.spatial_mode)
                for fv, fi in zip(feats_vis, feats_ir)]

    def fuse_tensor(self, vis, ir):
        from ..models.networks.msfam_net import pad_to_divisor
        b, _, h, w = vis.shape
        x = pad_to_divisor(torch.cat([vis, ir], dim=0),
                           self.net.size_divisor,
                           getattr(self.net, 'min_size', 1))
        feats = self.net.encode(self._input(x))
        # the hand-designed strategy's ratios are computed in fp32 so that
        # bf16/fp16 autocast cannot turn them into 0/0
        with torch.autocast(device_type=vis.device.type, enabled=False):
            fused = self.fuse_feature_lists([f[:b].float() for f in feats],
                                            [f[b:].float() for f in feats])
        return self.net.decode(fused)[..., :h, :w]

    def describe(self):
        return dict(super().describe(), spatial_mode=self.spatial_mode)
