"""Attention fusion block of MSFAM (Zheng et al., Sensors 2022, Section 3.4).

One block per encoder scale merges the visible and infrared features
(each ``C x H x W``) into one ``C x H x W`` feature that the pre-trained
decoder can reconstruct from. It is CBAM (Woo et al., ECCV 2018) with a
modified channel attention that also reduces ``2C -> C`` channels:

* Eq. 3: ``F_CA = M_max * Conv_max(F) + M_avg * Conv_avg(F)``
* Eq. 4: ``M_max = sigmoid(Conv_max(MaxPool(F)))``
* Eq. 5: ``M_avg = sigmoid(Conv_avg(AvgPool(F)))``

where ``F = [F_vis, F_ir]`` and each ``Conv`` is ONE 1x1 convolution
``2C -> C`` shared between the attention vector and the feature projection
("by sharing the parameters of two Conv layers, the correlation between the
attention vector and the features is achieved"). Then CBAM's spatial
attention (Eqs. 6-7) with a per-scale kernel size (7, 5, 5, 3).
"""
from typing import Dict, Tuple, Union

import torch
from torch import nn

from msfam_mm.registry import MODELS


class SpatialAttention(nn.Module):
    """CBAM spatial attention, Eq. 7: ``sigmoid(conv([mean_c F, max_c F]))``.

    Args:
        kernel_size (int): odd kernel size of the ``2 -> 1`` convolution.

    Example:
        >>> SpatialAttention(7)(torch.rand(2, 64, 16, 20)).shape
        torch.Size([2, 1, 16, 20])
    """

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError('SpatialAttention: kernel_size must be a '
                             f'positive odd integer, got {kernel_size}')
        self.kernel_size = kernel_size
        # No bias, as in CBAM's reference implementation.
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2,
                              bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The channel maximum is taken in float32: under bfloat16 autocast,
        # torch.compile's (Inductor, torch 2.13) backward of this amax after
        # the channel attention returns NaN gradients for conv_max/conv_avg
        # (docs/training.md, "Compiled training"). The value is the same
        # (bfloat16 values are exact in float32), and so is the gradient
        # rule (split evenly between tied maxima); in float32 it is a no-op.
        peak = x.float().amax(dim=1, keepdim=True).to(x.dtype)
        pooled = torch.cat([x.mean(dim=1, keepdim=True), peak], dim=1)
        return torch.sigmoid(self.conv(pooled))


@MODELS.register_module()
class AttentionFusionBlock(nn.Module):
    """Learnable attention fusion of visible and infrared features (Sec. 3.4).

    Args:
        channels (int): channels ``C`` of each single-modality feature; the
            block maps ``2C -> C``.
        spatial_kernel_size (int): kernel of the spatial attention conv;
            the paper uses 7, 5, 5, 3 for its four scales.

    Example:
        >>> block = AttentionFusionBlock(64, spatial_kernel_size=7)
        >>> f_vis, f_ir = torch.rand(2, 64, 32, 40), torch.rand(2, 64, 32, 40)
        >>> block(f_vis, f_ir).shape
        torch.Size([2, 64, 32, 40])
        >>> fused, att = block(f_vis, f_ir, return_attention=True)
        >>> sorted(att)
        ['channel_avg', 'channel_max', 'spatial', 'spatial_ir', 'spatial_vis']
    """

    def __init__(self, channels: int, spatial_kernel_size: int = 7) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(
                f'AttentionFusionBlock: channels must be >= 1, got {channels}')
        self.channels = channels
        # Each conv serves both Eq. 3 (projection of F) and Eq. 4/5
        # (attention vector from the pooled F): one parameter set per branch.
        self.conv_max = nn.Conv2d(2 * channels, channels, 1)
        self.conv_avg = nn.Conv2d(2 * channels, channels, 1)
        self.spatial_attention = SpatialAttention(spatial_kernel_size)

    def _check(self, f_vis: torch.Tensor, f_ir: torch.Tensor) -> None:
        for name, f in (('f_vis', f_vis), ('f_ir', f_ir)):
            if f.dim() != 4 or f.shape[1] != self.channels:
                raise ValueError(
                    f'AttentionFusionBlock: {name} must have shape '
                    f'(B, {self.channels}, H, W), got {tuple(f.shape)}')
        if f_vis.shape != f_ir.shape:
            raise ValueError(
                'AttentionFusionBlock: f_vis and f_ir must have the same '
                f'shape, got {tuple(f_vis.shape)} and {tuple(f_ir.shape)}')

    def channel_attention(
            self, feat: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Eqs. 3-5 on the concatenated feature ``feat`` (B, 2C, H, W).

        Returns ``(F_CA, M_max, M_avg)`` with ``M_*`` of shape (B, C, 1, 1).
        """
        pooled_max = feat.amax(dim=(2, 3), keepdim=True)
        pooled_avg = feat.mean(dim=(2, 3), keepdim=True)
        m_max = torch.sigmoid(self.conv_max(pooled_max))
        m_avg = torch.sigmoid(self.conv_avg(pooled_avg))
        f_ca = m_max * self.conv_max(feat) + m_avg * self.conv_avg(feat)
        return f_ca, m_max, m_avg

    def forward(
        self,
        f_vis: torch.Tensor,
        f_ir: torch.Tensor,
        return_attention: bool = False,
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, Dict[str, torch.Tensor]]]:
        """Fuse ``f_vis`` and ``f_ir`` (both (B, C, H, W)) into (B, C, H, W).

        With ``return_attention=True`` also returns a dict of maps in (0, 1):
        ``channel_max``/``channel_avg`` (B, C, 1, 1) (Eqs. 4-5), ``spatial``
        (B, 1, H, W) (Eq. 7, applied to F_CA), and, for the paper's Figure 6
        (attention of the visible, infrared and fused features),
        ``spatial_vis``/``spatial_ir``: the same spatial-attention conv
        applied to each single-modality feature.
        """
        self._check(f_vis, f_ir)
        f_ca, m_max, m_avg = self.channel_attention(
            torch.cat([f_vis, f_ir], dim=1))
        m_sa = self.spatial_attention(f_ca)
        fused = m_sa * f_ca  # Eq. 6
        if not return_attention:
            return fused
        attention = dict(
            channel_max=m_max,
            channel_avg=m_avg,
            spatial=m_sa,
            spatial_vis=self.spatial_attention(f_vis),
            spatial_ir=self.spatial_attention(f_ir))
        return fused, attention

    def extra_repr(self) -> str:
        return f'channels={self.channels}'
