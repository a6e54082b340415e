"""Stage-1 reconstruction loss, MSFAM Eq. 1 (Section 3.3).

``L_one_stage(I, O) = ||I - O||_1 + alpha_1 * (1 - SSIM(I, O))`` with
``alpha_1 = 0.84`` "chosen according to [39]" (Zhao et al., "Loss functions
for image restoration with neural networks", TCI 2017, whose mix uses 0.84).

Eq. 1 writes ``||I - O||`` without a normaliser; it is implemented as the
mean absolute error over channels and pixels (per image), so that both terms
are O(1) and independent of the crop size and the 0.84 trade-off from [39]
keeps its meaning.
"""
from torch import Tensor, nn

from ...registry import MODELS
from ._utils import check_reduction, check_weight, reduce
from .ssim import _prepare, ssim

ALPHA_1 = 0.84  # Eq. 1, after Zhao et al. 2017 (paper ref. [39])


def reconstruction_loss(target: Tensor,
                        output: Tensor,
                        alpha: float = ALPHA_1,
                        window_size: int = 11,
                        sigma: float = 1.5,
                        data_range: float = 1.0,
                        padding: str = 'valid',
                        reduction: str = 'mean') -> Tensor:
    """MSFAM Eq. 1: ``mean|I - O| + alpha * (1 - SSIM(I, O))``.

    Args:
        target: the input image I, (B, 1, H, W) in [0, 1].
        output: the reconstruction O, same shape.
        alpha: weight alpha_1 of the SSIM term (default 0.84).
        window_size, sigma, data_range, padding: SSIM settings, see
            :func:`~msfam_mm.models.losses.ssim.ssim`.
        reduction: ``'mean'`` over the batch, ``'sum'`` or ``'none'`` (B,).

    Example:
        >>> import torch
        >>> i = torch.rand(1, 1, 32, 32)
        >>> reconstruction_loss(i, i).item()
        0.0
        >>> reconstruction_loss(i, i, alpha=0.0).item()  # L1 term only
        0.0
    """
    where = 'reconstruction_loss'
    check_weight(alpha, 'alpha', where)
    check_reduction(reduction, where)
    target, output = _prepare(target, output, where)
    l1 = (target - output).abs().flatten(1).mean(1)
    values = l1
    if alpha > 0:
        s = ssim(target, output, window_size, sigma, data_range,
                 padding=padding, reduction='none')
        values = l1 + alpha * (1 - s)
    return reduce(values, reduction)


@MODELS.register_module()
class ReconstructionLoss(nn.Module):
    """Module form of :func:`reconstruction_loss` (MSFAM Eq. 1).

    ``forward(target, output)``; the argument order follows Eq. 1, (I, O).

    Example:
        >>> import torch
        >>> loss = ReconstructionLoss(alpha=0.84)
        >>> x = torch.rand(2, 1, 32, 32)
        >>> loss(x, x).item()
        0.0
    """

    def __init__(self, alpha: float = ALPHA_1, window_size: int = 11,
                 sigma: float = 1.5, data_range: float = 1.0,
                 padding: str = 'valid', reduction: str = 'mean') -> None:
        super().__init__()
        check_weight(alpha, 'alpha', 'ReconstructionLoss')
        check_reduction(reduction, 'ReconstructionLoss')
        self.alpha = alpha
        self.window_size = window_size
        self.sigma = sigma
        self.data_range = data_range
        self.padding = padding
        self.reduction = reduction

    def forward(self, target: Tensor, output: Tensor) -> Tensor:
        return reconstruction_loss(target, output, self.alpha,
                                   self.window_size, self.sigma,
                                   self.data_range, self.padding,
                                   self.reduction)

    def extra_repr(self) -> str:
        return f'alpha={self.alpha}, reduction={self.reduction!r}'
