"""Semantic Constraint classifier of MSFAM (Zheng et al., Sensors 2022, 3.5).

A small multi-label classifier, "four Conv layers and a fully connected
layer" (Section 3.5, Figure 5), trained with BCE to predict whether an
image follows the visible and/or the infrared data distribution: real
visible images are labelled (1, 0), infrared (0, 1), and fusion results of
existing methods (1, 1). Frozen, it scores the fused image in stage 2
(Eq. 8). Layer widths, strides and activations are not given in the paper;
see docs/architecture.md.
"""
from typing import Optional, Sequence

import torch
from torch import nn

from msfam_mm.registry import MODELS


@MODELS.register_module()
class SemanticConstraintClassifier(nn.Module):
    """Four stride-2 conv (3x3 by default) + BatchNorm + LeakyReLU layers,
    global pooling (average by default), one FC.

    Args:
        in_channels (int): image channels (grey: 1).
        widths (Sequence[int]): output channels of the four conv layers.
        num_classes (int): labels; 2 = (visible, infrared).
        relu_slope (float): LeakyReLU slope.
        norm (str | None): ``'bn'`` (default): BatchNorm after every conv;
            ``None``: no normalisation. Without it the classifier did not
            learn on this project's data (it answered (1, 1) for every
            image after 600 balanced iterations, docs/architecture.md).
            Stage 2 keeps the frozen classifier in eval mode
            (``MSFAMFusion.train``, ``FreezeCheckHook``), so the running
            statistics are used there and its output does not depend on
            the batch.
        kernel_size (int): odd kernel size of the four convs (3 by
            default; 5 doubles the receptive field, 31 -> 61 pixels).
        pool (str): spatial pooling before the FC, ``'avg'`` (default) or
            ``'max'``. The paper gives neither; both were measured on the
            held-out split (docs/training.md, "Classifier variants").

    ``forward`` returns sigmoid probabilities (B, num_classes) = (p_vis,
    p_ir); ``forward_logits`` the pre-sigmoid logits. Any input size
    works: the strided convs shrink the map down to at least 1x1 and the
    global pooling removes the spatial size.

    Example:
        >>> clf = SemanticConstraintClassifier()
        >>> p = clf(torch.rand(3, 1, 256, 320))
        >>> p.shape, bool(((p > 0) & (p < 1)).all())
        (torch.Size([3, 2]), True)
    """

    def __init__(self, in_channels: int = 1,
                 widths: Sequence[int] = (32, 64, 128, 256),
                 num_classes: int = 2, relu_slope: float = 0.2,
                 norm: Optional[str] = 'bn', kernel_size: int = 3,
                 pool: str = 'avg') -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) != 4:
            raise ValueError('SemanticConstraintClassifier: the paper uses '
                             f'four conv layers, got widths={widths}')
        if norm not in ('bn', None):
            raise ValueError('SemanticConstraintClassifier: norm must be '
                             f"'bn' or None, got {norm!r}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError('SemanticConstraintClassifier: kernel_size must '
                             f'be a positive odd number, got {kernel_size}')
        pools = dict(avg=nn.AdaptiveAvgPool2d, max=nn.AdaptiveMaxPool2d)
        if pool not in pools:
            raise ValueError('SemanticConstraintClassifier: pool must be one '
                             f'of {tuple(pools)}, got {pool!r}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.norm = norm
        layers = []
        chans = (in_channels, ) + widths
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers.append(nn.Conv2d(c_in, c_out, kernel_size, stride=2,
                                    padding=kernel_size // 2,
                                    bias=norm is None))
            if norm == 'bn':
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(relu_slope))
        self.features = nn.Sequential(*layers)
        self.pool = pools[pool](1)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid logits (B, num_classes) of images ``x`` (B, 1, H, W)."""
        if not isinstance(x, torch.Tensor) or x.dim() != 4 \
                or x.shape[1] != self.in_channels or min(x.shape) == 0:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x)
            raise ValueError(
                'SemanticConstraintClassifier: input must be a non-empty '
                f'tensor of shape (B, {self.in_channels}, H, W), got {shape}')
        if not x.is_floating_point():
            raise ValueError('SemanticConstraintClassifier: input must be a '
                             f'floating-point tensor, got dtype {x.dtype}')
        return self.fc(self.pool(self.features(x)).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities (B, 2) = (p_vis, p_ir) after a sigmoid (Sec. 3.5)."""
        return torch.sigmoid(self.forward_logits(x))


def semantic_constraint_classifier(**kwargs) -> SemanticConstraintClassifier:
    """Semantic Constraint classifier with this project's default widths.

    Example:
        >>> semantic_constraint_classifier()(torch.rand(1, 1, 64, 64)).shape
        torch.Size([1, 2])
    """
    return SemanticConstraintClassifier(**kwargs)
