"""Semantic Constraint loss, MSFAM Eq. 8 (Section 3.5).

The frozen multi-label classifier gives ``(p_vis, p_ir)`` for the fused
image; the loss is the binary cross-entropy against the label (1, 1), i.e.
the fused image should look both visible and infrared:

    L_Constraint = -(1 * log p_vis + 1 * log p_ir)

Eq. 8 as printed reads ``1 * log(p_vis) + 1 * log(p_ir)`` without the minus
sign; that quantity is <= 0 and minimising it would drive the probabilities
to 0, the opposite of the stated aim. It is implemented with the BCE sign.

Per image the two terms are **summed** (as in Eq. 8); the batch is then
averaged (``reduction='mean'``). So p = (0.5, 0.5) gives 2 log 2 = 1.386 and
p = (1, 1) gives 0. (``torch.nn.BCELoss`` would instead average the two
terms, i.e. half this value.)

Numerical safety: with probabilities, ``log`` is taken of ``p`` clamped to
``[eps, 1]`` (eps = 1e-7), so p = 0 gives the finite value -log(eps) per
term (with zero gradient there). With ``from_logits=True`` the exact stable
form ``-log sigmoid(z) = softplus(-z)`` is used, which never saturates; the
classifier's ``forward_logits`` provides the logits.
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS
from ._utils import check_reduction, reduce


def _check_scores(scores: Tensor, from_logits: bool, where: str) -> None:
    what = 'logits' if from_logits else 'probabilities'
    if not isinstance(scores, Tensor):
        raise TypeError(f'{where}: `probs` must be a torch.Tensor of {what} '
                        f'(B, 2), got {type(scores).__name__}')
    if scores.dim() != 2 or scores.shape[1] != 2:
        raise ValueError(f'{where}: `probs` must have shape (B, 2) = '
                         f'(p_vis, p_ir) {what}, got {tuple(scores.shape)}')
    if not scores.is_floating_point():
        raise TypeError(f'{where}: `probs` must be floating point, '
                        f'got {scores.dtype}')
    if not from_logits and scores.numel() > 0:
        lo, hi = scores.min().item(), scores.max().item()
        if lo < 0 or hi > 1:
            raise ValueError(
                f'{where}: `probs` must be probabilities in [0, 1] (after the '
                f'sigmoid), got values in [{lo:.4g}, {hi:.4g}]; pass '
                'from_logits=True for pre-sigmoid scores')


def semantic_constraint_loss(probs: Tensor,
                             from_logits: bool = False,
                             eps: float = 1e-7,
                             reduction: str = 'mean') -> Tensor:
    """MSFAM Eq. 8 (with the BCE minus sign): ``-(log p_vis + log p_ir)``.

    Args:
        probs: classifier output for the fused image, (B, 2) =
            (p_vis, p_ir); probabilities, or logits if ``from_logits``.
        from_logits: ``probs`` are pre-sigmoid logits (numerically exact).
        eps: lower clamp of the probabilities before the log.
        reduction: ``'mean'`` over the batch, ``'sum'`` or ``'none'`` (B,).

    Example:
        >>> semantic_constraint_loss(torch.tensor([[1.0, 1.0]])).item()
        0.0
        >>> p = torch.tensor([[0.5, 0.5]])
        >>> round(semantic_constraint_loss(p).item(), 4)  # 2 log 2
        1.3863
    """
    where = 'semantic_constraint_loss'
    check_reduction(reduction, where)
    if not 0 < eps < 1:
        raise ValueError(f'{where}: `eps` must be in (0, 1), got {eps}')
    _check_scores(probs, from_logits, where)
    if from_logits:
        nll = F.softplus(-probs)
    else:
        nll = -torch.log(probs.clamp(min=eps, max=1.0))
    return reduce(nll.sum(dim=1), reduction)


@MODELS.register_module()
class SemanticConstraintLoss(nn.Module):
    """Module form of :func:`semantic_constraint_loss` (MSFAM Eq. 8).

    Args:
        from_logits: inputs are pre-sigmoid logits instead of probabilities.
        eps: probability clamp before the log (ignored with logits).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Example:
        >>> loss = SemanticConstraintLoss()
        >>> loss(torch.tensor([[0.9, 0.8]]))  # -log 0.9 - log 0.8
        tensor(0.3285)
    """

    def __init__(self, from_logits: bool = False, eps: float = 1e-7,
                 reduction: str = 'mean') -> None:
        super().__init__()
        check_reduction(reduction, 'SemanticConstraintLoss')
        self.from_logits = from_logits
        self.eps = eps
        self.reduction = reduction

    def forward(self, probs: Tensor) -> Tensor:
        return semantic_constraint_loss(probs, self.from_logits, self.eps,
                                        self.reduction)

    def extra_repr(self) -> str:
        return (f'from_logits={self.from_logits}, '
                f'reduction={self.reduction!r}')
