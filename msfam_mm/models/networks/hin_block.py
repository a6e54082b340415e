"""Half-Instance-Normalisation block (HINet), MSFAM's encoder block.

MSFAM (Zheng et al., Sensors 2022, Section 3.2) replaces NestFuse's encoder
blocks by the HIN block of HINet (Chen et al., CVPR-W 2021, Section 3.1):
a residual block whose first convolution is followed by instance
normalisation on half of its channels, so that part of the features keeps
its instance statistics (contrast/brightness) while the other half is
normalised, which stabilises the multi-stage training (Section 3.2).
"""
import torch
from torch import nn

from msfam_mm.registry import MODELS


@MODELS.register_module()
class HINBlock(nn.Module):
    """HIN block: conv3x3, HIN, LeakyReLU, conv3x3, LeakyReLU; + 1x1 identity.

    ``out = LReLU(conv2(LReLU(HIN(conv1(x))))) + identity(x)`` where ``HIN``
    applies an affine ``InstanceNorm2d`` to the first ``out_channels // 2``
    channels and passes the others through unchanged (HINet, Eq. 1-2).

    Args:
        in_channels (int): channels of the input.
        out_channels (int): channels of the output (and of both 3x3 convs).
        relu_slope (float): negative slope of the LeakyReLUs; 0.2 as in HINet.
        use_hin (bool): apply the half instance normalisation. ``False`` gives
            HINet's plain residual block (for ablations).
        eps (float): instance-norm epsilon.

    Example:
        >>> block = HINBlock(16, 64)
        >>> block(torch.rand(2, 16, 32, 40)).shape
        torch.Size([2, 64, 32, 40])

    Note:
        Like every instance normalisation, the block needs more than one
        spatial element per channel in training mode (PyTorch raises
        otherwise); :class:`MSFAMNet` pads its inputs so that the deepest
        scale is at least 2x2.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 relu_slope: float = 0.2, use_hin: bool = True,
                 eps: float = 1e-5) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 2:
            raise ValueError(
                'HINBlock: in_channels must be >= 1 and out_channels >= 2 '
                '(half of them are instance-normalised), got '
                f'in_channels={in_channels}, out_channels={out_channels}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.use_hin = use_hin
        self.identity = nn.Conv2d(in_channels, out_channels, 1)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm = (nn.InstanceNorm2d(out_channels // 2, eps=eps, affine=True)
                     if use_hin else None)
        self.act1 = nn.LeakyReLU(relu_slope)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.act2 = nn.LeakyReLU(relu_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        if self.norm is not None:
            half = self.out_channels // 2
            out = torch.cat([self.norm(out[:, :half]), out[:, half:]], dim=1)
        out = self.act2(self.conv2(self.act1(out)))
        return out + self.identity(x)

    def extra_repr(self) -> str:
        return f'use_hin={self.use_hin}'
