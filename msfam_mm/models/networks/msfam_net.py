"""MSFAM fusion network (Zheng et al., Sensors 2022, Section 3, Figure 3).

Stage 1 ("reconstruction training", Section 3.3) trains ``encoder`` and
``decoder`` as an auto-encoder on single images (:meth:`MSFAMNet.reconstruct`).
Stage 2 ("fusion training") inserts one :class:`AttentionFusionBlock` per
scale between the shared encoder and the decoder
(:meth:`MSFAMNet.forward`): ``decode(fuse(encode(vis), encode(ir)))``;
``fusion_block='conv'`` puts Table 2's plain 5x5-convolution fusion
(:class:`ConvFusionBlock`) there instead.
Interfaces are fixed by docs/CONTRACTS.md ("Network"); design decisions the
paper leaves open are listed in docs/architecture.md.
"""
import math
from typing import Dict, List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from msfam_mm.registry import MODELS
from .attention_fusion_block import AttentionFusionBlock
from .conv_fusion_block import ConvFusionBlock
from .hin_encoder import HINEncoder
from .nest_decoder import NestDecoder

AttentionMaps = List[Dict[str, torch.Tensor]]

#: ``MSFAMNet(fusion_block=...)``: the paper's attention fusion blocks
#: (Section 3.4) or the plain 5x5 convolutions of its Table 2 ablation
FUSION_BLOCKS = ('attention', 'conv')


def check_image(x: torch.Tensor, name: str, channels: int,
                where: str) -> None:
    """Raise ValueError unless ``x`` is a float (B, channels, H, W) tensor."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f'{where}: {name} must be a torch.Tensor, '
                         f'got {type(x).__name__}')
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(
            f'{where}: {name} must have shape (B, {channels}, H, W) '
            f'(grey images in [0, 1]), got {tuple(x.shape)}')
    if not x.is_floating_point():
        raise ValueError(f'{where}: {name} must be a floating-point tensor '
                         f'scaled to [0, 1], got dtype {x.dtype}')
    if min(x.shape) == 0:
        raise ValueError(f'{where}: {name} is empty, shape {tuple(x.shape)}')


def pad_to_divisor(x: torch.Tensor, divisor: int,
                   min_size: int = 1) -> torch.Tensor:
    """Pad ``x`` (B, C, H, W) at the bottom/right to a multiple of ``divisor``.

    Each side is padded to at least ``min_size``. Reflection padding keeps
    image statistics at the border; it needs the pad to be smaller than the
    image side, so tiny inputs fall back to replicate padding.

    Example:
        >>> pad_to_divisor(torch.rand(1, 1, 291, 397), 8).shape
        torch.Size([1, 1, 296, 400])
    """
    h, w = x.shape[-2:]
    th = max(math.ceil(h / divisor) * divisor, min_size)
    tw = max(math.ceil(w / divisor) * divisor, min_size)
    ph, pw = th - h, tw - w
    if ph == 0 and pw == 0:
        return x
    mode = 'reflect' if ph < h and pw < w else 'replicate'
    return F.pad(x, (0, pw, 0, ph), mode=mode)


@MODELS.register_module()
class MSFAMNet(nn.Module):
    """MSFAM: HIN encoder, per-scale attention fusion, NestFuse decoder.

    Args:
        in_channels (int): image channels; MSFAM fuses grey images (1).
        stem_channels (int): channels of NestFuse's 1x1 stem (16).
        widths (Sequence[int]): channels of the four scales (NestFuse:
            64, 112, 160, 208).
        spatial_kernel_sizes (Sequence[int]): spatial-attention kernel per
            scale, Section 3.4: 7, 5, 5, 3.
        relu_slope (float): LeakyReLU slope of the HIN blocks (HINet: 0.2).
        with_fusion (bool): build the four fusion blocks. ``False`` gives the
            stage-1 auto-encoder only (``fusion_blocks`` is empty and
            :meth:`forward` raises); the stage-2 network must have them.
        fusion_block (str): which fusion block each scale gets:
            ``'attention'`` (:class:`AttentionFusionBlock`, Section 3.4,
            default) or ``'conv'`` (:class:`ConvFusionBlock`, 5x5
            convolutions, Table 2's "w/o attention" row). Either way they
            are ``fusion_blocks``, so encoder and decoder parameter names
            (and stage-1 checkpoints) are the same.

    Example:
        >>> net = MSFAMNet().eval()
        >>> vis, ir = torch.rand(1, 1, 45, 61), torch.rand(1, 1, 45, 61)
        >>> net(vis, ir).shape
        torch.Size([1, 1, 45, 61])
        >>> fused, attention = net(vis, ir, return_attention=True)
        >>> len(attention), attention[0]['spatial'].shape
        (4, torch.Size([1, 1, 45, 61]))
        >>> net.reconstruct(vis).shape
        torch.Size([1, 1, 45, 61])
    """

    #: H and W given to :meth:`encode` must be multiples of this (3 poolings).
    size_divisor = 8
    #: padded sides are at least this long, so that the deepest scale is
    #: 2x2 and its instance normalisation is defined in training mode.
    min_size = 16

    def __init__(self, in_channels: int = 1, stem_channels: int = 16,
                 widths: Sequence[int] = (64, 112, 160, 208),
                 spatial_kernel_sizes: Sequence[int] = (7, 5, 5, 3),
                 relu_slope: float = 0.2, with_fusion: bool = True,
                 fusion_block: str = 'attention') -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        spatial_kernel_sizes = tuple(int(k) for k in spatial_kernel_sizes)
        if len(widths) != 4:
            raise ValueError(
                f'MSFAMNet: widths must give 4 scales, got {widths}')
        if len(spatial_kernel_sizes) != len(widths):
            raise ValueError(
                'MSFAMNet: spatial_kernel_sizes must give one kernel per '
                f'scale ({len(widths)}), got {spatial_kernel_sizes}')
        if fusion_block not in FUSION_BLOCKS:
            raise ValueError(f'MSFAMNet: fusion_block must be one of '
                             f'{FUSION_BLOCKS}, got {fusion_block!r}')
        self.in_channels = in_channels
        self.widths = widths
        self.with_fusion = with_fusion
        self.fusion_block = fusion_block
        self.encoder = HINEncoder(in_channels, stem_channels, widths,
                                  relu_slope)
        if not with_fusion:
            blocks = []
        elif fusion_block == 'attention':
            blocks = [AttentionFusionBlock(c, k)
                      for c, k in zip(widths, spatial_kernel_sizes)]
        else:
            blocks = [ConvFusionBlock(c, relu_slope=relu_slope)
                      for c in widths]
        self.fusion_blocks = nn.ModuleList(blocks)
        self.decoder = NestDecoder(widths, in_channels)

    # -- building blocks on padded sizes (divisible by size_divisor) --------
    def encode(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Four-scale features of ``x`` (B, 1, H, W), H, W % 8 == 0."""
        return self.encoder(x)

    def fuse_features(
        self,
        feats_vis: Sequence[torch.Tensor],
        feats_ir: Sequence[torch.Tensor],
        return_attention: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[List[torch.Tensor], AttentionMaps]]:
        """Fuse the per-scale features with the fusion blocks (the attention
        blocks of Section 3.4, or Table 2's convolutions)."""
        if not self.with_fusion:
            raise RuntimeError(
                'MSFAMNet was built with with_fusion=False (stage-1 network): '
                'it has no fusion blocks; use reconstruct() or build it with '
                'with_fusion=True')
        if len(feats_vis) != len(self.fusion_blocks) or \
                len(feats_ir) != len(self.fusion_blocks):
            raise ValueError(
                f'MSFAMNet.fuse_features: expected {len(self.fusion_blocks)} '
                f'scales per modality, got {len(feats_vis)} (vis) and '
                f'{len(feats_ir)} (ir)')
        fused, attention = [], []
        for block, f_vis, f_ir in zip(self.fusion_blocks, feats_vis, feats_ir):
            out = block(f_vis, f_ir, return_attention=return_attention)
            if return_attention:
                out, maps = out
                attention.append(maps)
            fused.append(out)
        return (fused, attention) if return_attention else fused

    def decode(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Reconstruct a (B, 1, H, W) image from the four-scale features."""
        return self.decoder(feats)

    def fuse_padded(self, vis: torch.Tensor, ir: torch.Tensor
                    ) -> torch.Tensor:
        """Stage-2 fusion of inputs whose H, W are multiples of
        :attr:`size_divisor`: no checks, no padding, no crop. This is the
        computation :meth:`forward` wraps and ``msfam_mm.deploy`` exports.
        """
        b = vis.shape[0]
        # One encoder pass over the stacked pair: the encoder has no
        # batch-coupled layers (instance norm only), so this equals two passes.
        feats = self.encode(torch.cat([vis, ir], dim=0))
        return self.decode(self.fuse_features([f[:b] for f in feats],
                                              [f[b:] for f in feats]))

    # -- any-size entry points ----------------------------------------------
    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        return pad_to_divisor(x, self.size_divisor, self.min_size)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Stage-1 path: ``decode(encode(x))`` for any H, W; same shape out."""
        check_image(x, 'x', self.in_channels, 'MSFAMNet.reconstruct')
        h, w = x.shape[-2:]
        out = self.decode(self.encode(self._pad(x)))
        return out[..., :h, :w]

    def forward(
        self,
        vis: torch.Tensor,
        ir: torch.Tensor,
        return_attention: bool = False,
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, AttentionMaps]]:
        """Stage-2 path: fuse ``vis`` and ``ir`` (B, 1, H, W), any H, W.

        Returns the fused image (B, 1, H, W) (not clamped). With
        ``return_attention=True`` returns ``(fused, attention)`` where
        ``attention[s]`` is the dict of :class:`AttentionFusionBlock` maps of
        scale ``s``; spatial maps are cropped to the un-padded region,
        ``ceil(H / 2**s) x ceil(W / 2**s)``. A network with
        ``fusion_block='conv'`` has no attention maps and raises
        ``ValueError`` then.
        """
        check_image(vis, 'vis', self.in_channels, 'MSFAMNet.forward')
        check_image(ir, 'ir', self.in_channels, 'MSFAMNet.forward')
        if vis.shape != ir.shape:
            raise ValueError(
                'MSFAMNet.forward: vis and ir must have the same shape '
                f'(registered pair), got {tuple(vis.shape)} and '
                f'{tuple(ir.shape)}')
        if not self.with_fusion:
            raise RuntimeError(
                'MSFAMNet.forward: built with with_fusion=False (stage-1 '
                'network); use reconstruct() or build with with_fusion=True')
        if return_attention and self.fusion_block != 'attention':
            raise ValueError(
                f'MSFAMNet.forward: return_attention needs the attention '
                f'fusion blocks; this network has fusion_block='
                f'{self.fusion_block!r}, which has no attention maps')
        b, _, h, w = vis.shape
        padded = self._pad(torch.cat([vis, ir], dim=0))
        if not return_attention:
            return self.fuse_padded(padded[:b], padded[b:])[..., :h, :w]
        feats = self.encode(padded)
        feats_vis = [f[:b] for f in feats]
        feats_ir = [f[b:] for f in feats]
        fused_feats, attention = self.fuse_features(
            feats_vis, feats_ir, return_attention=True)
        fused = self.decode(fused_feats)[..., :h, :w]
        cropped = []
        for s, maps in enumerate(attention):
            hs, ws = math.ceil(h / 2**s), math.ceil(w / 2**s)
            # (B, C, 1, 1) channel maps are unchanged by the crop.
            cropped.append({k: v[..., :hs, :ws] for k, v in maps.items()})
        return fused, cropped


def msfam_net(**kwargs) -> MSFAMNet:
    """MSFAM network with the paper's settings (Sections 3.2-3.4).

    Example:
        >>> net = msfam_net()
        >>> len(net.fusion_blocks)
        4
    """
    return MSFAMNet(**kwargs)


def msfam_autoencoder(**kwargs) -> MSFAMNet:
    """Stage-1 MSFAM auto-encoder: encoder + decoder, no fusion blocks."""
    kwargs.setdefault('with_fusion', False)
    return MSFAMNet(**kwargs)
