"""UNet++ nested decoder of NestFuse, used unchanged by MSFAM (Section 3.2).

NestFuse (Li, Wu, Durrani, IEEE TIM 2020, Section III-A, Figure 2) decodes
the four encoder scales ``x1_0..x4_0`` with six decoder blocks connected by
"near" (nested) skip connections; every block input is the concatenation
of the same-scale features computed so far and the x2-upsampled output of
the block one scale below:

* DB1_1([x1_0, up(x2_0)]),  DB2_1([x2_0, up(x3_0)]),  DB3_1([x3_0, up(x4_0)])
* DB1_2([x1_0, x1_1, up(x2_1)]),  DB2_2([x2_0, x2_1, up(x3_1)])
* DB1_3([x1_0, x1_1, x1_2, up(x2_2)])

followed by a 1x1 output conv to one channel. NestFuse's decoder block
("DenseBlock_light") is conv3x3 ``c_in -> c_in / 2`` + ReLU then conv1x1
``c_in / 2 -> c_out`` + ReLU, both with reflection padding.
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from msfam_mm.registry import MODELS


class NestDecoderBlock(nn.Sequential):
    """NestFuse decoder block: conv3x3 c_in -> c_in//2 + ReLU, conv1x1 + ReLU.

    Example:
        >>> NestDecoderBlock(176, 64)(torch.rand(1, 176, 8, 8)).shape
        torch.Size([1, 64, 8, 8])
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        mid = in_channels // 2
        super().__init__(
            # reflection padding as NestFuse's ConvLayer: fewer border
            # artefacts in the reconstructed image than zero padding.
            nn.Conv2d(in_channels, mid, 3, padding=1, padding_mode='reflect'),
            nn.ReLU(),
            nn.Conv2d(mid, out_channels, 1),
            nn.ReLU())


@MODELS.register_module()
class NestDecoder(nn.Module):
    """NestFuse's nested decoder for four scales plus a 1x1 output conv.

    Args:
        widths (Sequence[int]): channels of the four input scales (64, 112,
            160, 208 in NestFuse/MSFAM).
        out_channels (int): channels of the reconstructed image.

    Example:
        >>> dec = NestDecoder()
        >>> feats = [torch.rand(1, c, 32 // 2**i, 40 // 2**i)
        ...          for i, c in enumerate((64, 112, 160, 208))]
        >>> dec(feats).shape
        torch.Size([1, 1, 32, 40])
    """

    def __init__(self, widths: Sequence[int] = (64, 112, 160, 208),
                 out_channels: int = 1) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) != 4:
            raise ValueError('NestDecoder: the NestFuse decoder needs exactly '
                             f'4 scale widths, got {widths}')
        self.widths = widths
        c1, c2, c3, c4 = widths
        self.db1_1 = NestDecoderBlock(c1 + c2, c1)
        self.db2_1 = NestDecoderBlock(c2 + c3, c2)
        self.db3_1 = NestDecoderBlock(c3 + c4, c3)
        self.db1_2 = NestDecoderBlock(2 * c1 + c2, c1)
        self.db2_2 = NestDecoderBlock(2 * c2 + c3, c2)
        self.db1_3 = NestDecoderBlock(3 * c1 + c2, c1)
        # 1x1 and no activation, as NestFuse's conv_out (is_last=True): the
        # output is not clamped (docs/CONTRACTS.md).
        self.out_conv = nn.Conv2d(c1, out_channels, 1)

    @staticmethod
    def _up(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode='nearest')

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(feats) != 4:
            raise ValueError(
                f'NestDecoder: expected 4 scale features, got {len(feats)}')
        for i, (f, c) in enumerate(zip(feats, self.widths)):
            expect = (feats[0].shape[-2] // 2**i, feats[0].shape[-1] // 2**i)
            if (f.dim() != 4 or f.shape[1] != c
                    or tuple(f.shape[-2:]) != expect):
                raise ValueError(
                    f'NestDecoder: feature {i} must have shape (B, {c}, '
                    f'{expect[0]}, {expect[1]}), got {tuple(f.shape)}')
        x1_0, x2_0, x3_0, x4_0 = feats
        up = self._up
        x1_1 = self.db1_1(torch.cat([x1_0, up(x2_0)], 1))
        x2_1 = self.db2_1(torch.cat([x2_0, up(x3_0)], 1))
        x3_1 = self.db3_1(torch.cat([x3_0, up(x4_0)], 1))
        x1_2 = self.db1_2(torch.cat([x1_0, x1_1, up(x2_1)], 1))
        x2_2 = self.db2_2(torch.cat([x2_0, x2_1, up(x3_1)], 1))
        x1_3 = self.db1_3(torch.cat([x1_0, x1_1, x1_2, up(x2_2)], 1))
        return self.out_conv(x1_3)

