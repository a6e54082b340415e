"""Four-scale HIN encoder of MSFAM (Section 3.2, Figure 3).

NestFuse's encoder (Li, Wu, Durrani, IEEE TIM 2020, Section III-A): a 1x1
stem conv ``1 -> 16`` with ReLU, then encoder blocks EB1..EB4 of widths
64, 112, 160, 208 with 2x2 max-pooling between scales. MSFAM keeps this
layout and replaces the encoder blocks by HIN blocks (Section 3.2).
"""
from typing import List, Sequence

import torch
from torch import nn

from msfam_mm.registry import MODELS
from .hin_block import HINBlock


@MODELS.register_module()
class HINEncoder(nn.Module):
    """Stem + HIN blocks at four scales, 2x2 max-pooling between scales.

    Args:
        in_channels (int): image channels (1: grey).
        stem_channels (int): output channels of the 1x1 stem (NestFuse: 16).
        widths (Sequence[int]): output channels of EB1..EB4 (NestFuse:
            64, 112, 160, 208).
        relu_slope (float): LeakyReLU slope inside the HIN blocks.

    Returns (forward): list of the four scale features, scale ``s`` of shape
    ``(B, widths[s], H / 2**s, W / 2**s)``; H and W must be divisible by
    ``2 ** (len(widths) - 1)``.

    Example:
        >>> enc = HINEncoder()
        >>> [tuple(f.shape[1:]) for f in enc(torch.rand(1, 1, 32, 40))]
        [(64, 32, 40), (112, 16, 20), (160, 8, 10), (208, 4, 5)]
    """

    def __init__(self, in_channels: int = 1, stem_channels: int = 16,
                 widths: Sequence[int] = (64, 112, 160, 208),
                 relu_slope: float = 0.2) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) < 1:
            raise ValueError('HINEncoder: widths must not be empty')
        self.in_channels = in_channels
        self.widths = widths
        # NestFuse's stem: ConvLayer(1, 16, kernel 1) = conv + ReLU.
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 1),
                                  nn.ReLU())
        chans = (stem_channels, ) + widths
        self.blocks = nn.ModuleList(
            HINBlock(chans[i], chans[i + 1], relu_slope=relu_slope)
            for i in range(len(widths)))
        self.pool = nn.MaxPool2d(2, 2)

    @property
    def size_divisor(self) -> int:
        return 2**(len(self.widths) - 1)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'HINEncoder: input must have shape (B, {self.in_channels}, '
                f'H, W), got {tuple(x.shape)}')
        h, w = x.shape[-2:]
        if h % self.size_divisor or w % self.size_divisor:
            raise ValueError(
                f'HINEncoder: H and W must be divisible by {self.size_divisor}'
                f', got {h}x{w} (MSFAMNet.reconstruct/forward pad for you)')
        feats = []
        out = self.stem(x)
        for i, block in enumerate(self.blocks):
            out = block(self.pool(out) if i else out)
            feats.append(out)
        return feats
