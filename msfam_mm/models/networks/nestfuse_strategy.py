"""NestFuse's hand-designed fusion strategy on MSFAM's stage-1 auto-encoder.

The paper's Table 1 row "Rec" (Section 4.2.1) fuses the features of the
stage-1 encoder with NestFuse's spatial + channel attention strategy (Li et
al., IEEE TIM 2020, Section III-B) at each of the four scales instead of
the learned fusion blocks. The functions are the strategy; the module
:class:`NestFuseStrategyNet` is the whole fusion network built from it, with
the same any-size ``forward`` and padded-size ``fuse_padded`` entry points
as :class:`~msfam_mm.models.networks.MSFAMNet` (the latter is what
``msfam_mm.deploy`` exports to ONNX).
"""
import torch
from torch import nn

from .msfam_net import MSFAMNet, check_image, pad_to_divisor

# keeps the weight ratios finite where both feature maps are zero
_EPS = 1e-5
SPATIAL_MODES = ('softmax', 'l1_ratio')


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
        raise ValueError(f'nestfuse_spatial_fusion: mode must be one of '
                         f'{SPATIAL_MODES}, got {mode!r}')
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


class NestFuseStrategyNet(nn.Module):
    """Stage-1 auto-encoder + NestFuse strategy at the four scales.

    Args:
        autoencoder (MSFAMNet): its ``encoder`` and ``decoder`` are used;
            fusion blocks, if any, are not.
        spatial_mode (str): see :func:`nestfuse_spatial_fusion`.

    Example:
        >>> net = NestFuseStrategyNet(MSFAMNet(with_fusion=False)).eval()
        >>> net(torch.rand(1, 1, 20, 30), torch.rand(1, 1, 20, 30)).shape
        torch.Size([1, 1, 20, 30])
    """

    def __init__(self, autoencoder: MSFAMNet,
                 spatial_mode: str = 'softmax') -> None:
        super().__init__()
        if spatial_mode not in SPATIAL_MODES:
            raise ValueError(f'NestFuseStrategyNet: spatial_mode must be one '
                             f'of {SPATIAL_MODES}, got {spatial_mode!r}')
        self.encoder = autoencoder.encoder
        self.decoder = autoencoder.decoder
        self.in_channels = autoencoder.in_channels
        self.size_divisor = autoencoder.size_divisor
        self.min_size = autoencoder.min_size
        self.spatial_mode = spatial_mode

    def fuse_padded(self, vis: torch.Tensor, ir: torch.Tensor
                    ) -> torch.Tensor:
        """Fuse ``(B, 1, H, W)`` inputs whose H, W are multiples of
        :attr:`size_divisor`; no checks, no crop."""
        b = vis.shape[0]
        feats = self.encoder(torch.cat([vis, ir], dim=0))
        # the strategy's ratios are computed in fp32 so that bf16/fp16
        # autocast cannot turn them into 0/0
        with torch.autocast(device_type=vis.device.type, enabled=False):
            fused = [nestfuse_attention_fusion(f[:b].float(), f[b:].float(),
                                               self.spatial_mode)
                     for f in feats]
        return self.decoder(fused)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        """Fuse ``vis`` and ``ir`` (B, 1, H, W) of any size."""
        for name, x in (('vis', vis), ('ir', ir)):
            check_image(x, name, self.in_channels, 'NestFuseStrategyNet')
        if vis.shape != ir.shape:
            raise ValueError('NestFuseStrategyNet: vis and ir must have the '
                             f'same shape, got {tuple(vis.shape)} and '
                             f'{tuple(ir.shape)}')
        h, w = vis.shape[-2:]
        pad = pad_to_divisor(torch.cat([vis, ir], dim=0), self.size_divisor,
                             self.min_size)
        b = vis.shape[0]
        return self.fuse_padded(pad[:b], pad[b:])[..., :h, :w]
