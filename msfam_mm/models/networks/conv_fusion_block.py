"""Convolutional fusion block: the "w/o attention" row of MSFAM's Table 2.

Zheng et al., Sensors 2022, Section 4.2.2: "we replaced the module with
5 x 5 Conv layers to achieve the fusion of dual-light features", trained
with the same multi-stage approach. Like the attention fusion block
(Section 3.4) it concatenates the visible and infrared features of one
scale, ``[F_vis, F_ir]`` (2C channels), and returns one C-channel feature
for the pre-trained decoder; instead of the channel and spatial attention
it applies plain 5x5 convolutions::

    F = conv_{5x5, C -> C}(LeakyReLU(conv_{5x5, 2C -> C}([F_vis, F_ir])))

(``num_convs=2``; docs/architecture.md, "Decisions the paper leaves open",
says what the paper leaves open and why these choices.)
"""
import torch
from torch import nn

from msfam_mm.registry import MODELS


@MODELS.register_module()
class ConvFusionBlock(nn.Module):
    """Fuse visible and infrared features with plain convolutions.

    Args:
        channels (int): channels ``C`` of each single-modality feature; the
            block maps ``2C -> C``.
        kernel_size (int): odd kernel of every convolution; Table 2's
            comparison uses 5.
        num_convs (int): convolutions in the block (>= 1): the first maps
            ``2C -> C``, the others ``C -> C``; LeakyReLU between them, none
            after the last (the attention block's output, Eq. 6, has none
            either).
        relu_slope (float): slope of the LeakyReLU between the convolutions
            (the HIN blocks' 0.2).

    Example:
        >>> block = ConvFusionBlock(64)
        >>> f_vis, f_ir = torch.rand(2, 64, 32, 40), torch.rand(2, 64, 32, 40)
        >>> block(f_vis, f_ir).shape
        torch.Size([2, 64, 32, 40])
        >>> [tuple(c.weight.shape) for c in block.convs]
        [(64, 128, 5, 5), (64, 64, 5, 5)]
    """

    def __init__(self, channels: int, kernel_size: int = 5,
                 num_convs: int = 2, relu_slope: float = 0.2) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(
                f'ConvFusionBlock: channels must be >= 1, got {channels}')
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError('ConvFusionBlock: kernel_size must be a '
                             f'positive odd integer, got {kernel_size}')
        if num_convs < 1:
            raise ValueError(
                f'ConvFusionBlock: num_convs must be >= 1, got {num_convs}')
        self.channels = channels
        self.kernel_size = kernel_size
        self.convs = nn.ModuleList(
            nn.Conv2d(2 * channels if j == 0 else channels, channels,
                      kernel_size, padding=kernel_size // 2)
            for j in range(num_convs))
        self.act = nn.LeakyReLU(relu_slope)

    def _check(self, f_vis: torch.Tensor, f_ir: torch.Tensor) -> None:
        for name, f in (('f_vis', f_vis), ('f_ir', f_ir)):
            if f.dim() != 4 or f.shape[1] != self.channels:
                raise ValueError(
                    f'ConvFusionBlock: {name} must have shape '
                    f'(B, {self.channels}, H, W), got {tuple(f.shape)}')
        if f_vis.shape != f_ir.shape:
            raise ValueError(
                'ConvFusionBlock: f_vis and f_ir must have the same shape, '
                f'got {tuple(f_vis.shape)} and {tuple(f_ir.shape)}')

    def forward(self, f_vis: torch.Tensor, f_ir: torch.Tensor,
                return_attention: bool = False) -> torch.Tensor:
        """Fuse ``f_vis`` and ``f_ir`` (both (B, C, H, W)) into (B, C, H, W).

        ``return_attention`` exists for the interface of
        :class:`AttentionFusionBlock`; this block has no attention maps, so
        ``True`` raises ``ValueError``.
        """
        if return_attention:
            raise ValueError(
                'ConvFusionBlock has no attention maps (the convolutional '
                "fusion of Table 2); return_attention needs fusion_block="
                "'attention'")
        self._check(f_vis, f_ir)
        x = torch.cat([f_vis, f_ir], dim=1)
        for j, conv in enumerate(self.convs):
            if j:
                x = self.act(x)
            x = conv(x)
        return x

    def extra_repr(self) -> str:
        return f'channels={self.channels}'
