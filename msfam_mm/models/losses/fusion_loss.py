"""Stage-2 fusion loss, MSFAM Eq. 2 (Section 3.3).

    L_two_stage(I, V, F) = L1(I, V, F) + alpha_2 * L_Constraint(F)
                           + beta * L_Pull-Push(I, V, F)

with alpha_2 = 0.84 and beta = 2 (Section 4.2.4, Tables 4-5).

The paper does not define the three-argument ``L1(I, V, F)``. The default
``l1_mode='mean'`` is the mean of the two source terms,
``(mean|F - V| + mean|F - I|) / 2``, the same two-source averaging the
paper uses for its metrics (Eq. 9); ``l1_mode='max'`` uses
``mean|F - max(V, I)|`` (the element-wise maximum intensity target common
in infrared-visible fusion losses), which keeps bright infrared targets.

A weight of 0 switches its term off: the term is neither computed nor
returned (Table 3 ablations), and ``probs`` may then be ``None``.
"""
from typing import Dict, Optional

import torch
from torch import Tensor, nn

from ...registry import MODELS
from ._utils import (check_image, check_reduction, check_same_shape,
                     check_weight, reduce)
from .pull_push_loss import PullPushLoss
from .semantic_constraint_loss import semantic_constraint_loss

ALPHA_2 = 0.84  # weight of the Semantic Constraint loss, Section 4.2.4
BETA = 2.0  # weight of the Pull-Push loss, Section 4.2.4
L1_MODES = ('mean', 'max')


def fusion_l1_loss(vis: Tensor, ir: Tensor, fused: Tensor,
                   mode: str = 'mean', reduction: str = 'mean') -> Tensor:
    """The ``L1(I, V, F)`` term of MSFAM Eq. 2 (definition: module doc).

    Example:
        >>> v, i = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
        >>> fusion_l1_loss(v, i, v).item()
        0.5
        >>> fusion_l1_loss(v, i, v, mode='max').item()
        1.0
    """
    where = 'fusion_l1_loss'
    for name, t in (('vis', vis), ('ir', ir), ('fused', fused)):
        check_image(t, name, where)
    check_same_shape(vis, fused, '`vis` and `fused`', where)
    check_same_shape(ir, fused, '`ir` and `fused`', where)
    check_reduction(reduction, where)
    if mode == 'mean':
        values = 0.5 * ((fused - vis).abs().flatten(1).mean(1)
                        + (fused - ir).abs().flatten(1).mean(1))
    elif mode == 'max':
        values = (fused - torch.maximum(vis, ir)).abs().flatten(1).mean(1)
    else:
        raise ValueError(f'{where}: `mode` must be one of {L1_MODES}, '
                         f'got {mode!r}')
    return reduce(values, reduction)


@MODELS.register_module()
class FusionLoss(nn.Module):
    """MSFAM Eq. 2 as a dict of weighted terms for mmengine.

    ``forward(vis, ir, fused, probs)`` returns ``{'loss_l1', 'loss_constraint',
    'loss_pull_push'}``, each already multiplied by its weight; mmengine logs
    every key and sums those containing ``loss``. Terms with weight 0 are
    omitted.

    Args:
        l1_weight: weight of ``L1(I, V, F)`` (Eq. 2 uses 1).
        constraint_weight: alpha_2 (default 0.84).
        pull_push_weight: beta (default 2).
        l1_mode: ``'mean'`` (default) or ``'max'``, see module doc.
        from_logits: ``probs`` are the classifier's logits, not
            probabilities (numerically stable form of Eq. 8).
        pull_push: keyword arguments of :class:`PullPushLoss`
            (e.g. ``dict(direction='as_described')``).

    Example:
        >>> loss = FusionLoss()
        >>> v, i = torch.rand(2, 1, 64, 64), torch.rand(2, 1, 64, 64)
        >>> terms = loss(v, i, 0.5 * (v + i), torch.full((2, 2), 0.9))
        >>> sorted(terms)
        ['loss_constraint', 'loss_l1', 'loss_pull_push']
    """

    def __init__(self, l1_weight: float = 1.0,
                 constraint_weight: float = ALPHA_2,
                 pull_push_weight: float = BETA, l1_mode: str = 'mean',
                 from_logits: bool = False,
                 pull_push: Optional[dict] = None) -> None:
        super().__init__()
        where = 'FusionLoss'
        check_weight(l1_weight, 'l1_weight', where)
        check_weight(constraint_weight, 'constraint_weight', where)
        check_weight(pull_push_weight, 'pull_push_weight', where)
        if l1_mode not in L1_MODES:
            raise ValueError(f'{where}: `l1_mode` must be one of {L1_MODES}, '
                             f'got {l1_mode!r}')
        pull_push = dict(pull_push or {})
        if 'reduction' in pull_push:
            raise ValueError(f'{where}: `pull_push` must not set `reduction`; '
                             'every term is averaged over the batch')
        self.l1_weight = l1_weight
        self.constraint_weight = constraint_weight
        self.pull_push_weight = pull_push_weight
        self.l1_mode = l1_mode
        self.from_logits = from_logits
        self.pull_push = PullPushLoss(**pull_push)

    def forward(self, vis: Tensor, ir: Tensor, fused: Tensor,
                probs: Optional[Tensor] = None) -> Dict[str, Tensor]:
        where = 'FusionLoss'
        for name, t in (('vis', vis), ('ir', ir), ('fused', fused)):
            check_image(t, name, where)
        check_same_shape(vis, fused, '`vis` and `fused`', where)
        check_same_shape(ir, fused, '`ir` and `fused`', where)
        losses = {}
        if self.l1_weight > 0:
            losses['loss_l1'] = self.l1_weight * fusion_l1_loss(
                vis, ir, fused, self.l1_mode)
        if self.constraint_weight > 0:
            if probs is None:
                raise ValueError(
                    f'{where}: `probs` (the Semantic Constraint classifier '
                    'output for `fused`, shape (B, 2)) is required when '
                    f'constraint_weight={self.constraint_weight} > 0')
            if isinstance(probs, Tensor) and probs.shape[0] != fused.shape[0]:
                raise ValueError(
                    f'{where}: `probs` has batch size {probs.shape[0]} but '
                    f'`fused` has {fused.shape[0]}')
            losses['loss_constraint'] = (
                self.constraint_weight * semantic_constraint_loss(
                    probs, from_logits=self.from_logits))
        if self.pull_push_weight > 0:
            losses['loss_pull_push'] = self.pull_push_weight * self.pull_push(
                vis, ir, fused)
        return losses

    def extra_repr(self) -> str:
        return (f'l1_weight={self.l1_weight}, '
                f'constraint_weight={self.constraint_weight}, '
                f'pull_push_weight={self.pull_push_weight}, '
                f'l1_mode={self.l1_mode!r}, from_logits={self.from_logits}')
