"""SemanticConstraintLoss (MSFAM Eq. 8): values, the safe and logits forms
and input checks."""
import math

import pytest
import torch

from msfam_mm.models.losses import (SemanticConstraintLoss,
                                    semantic_constraint_loss)


# --------------------------------------------------------------------------
# Eq. 8 Semantic Constraint loss
# --------------------------------------------------------------------------
def test_semantic_constraint_loss_values():
    p = torch.tensor([[0.9, 0.8], [0.5, 0.25]])
    per_image = -torch.log(p).sum(1)
    assert torch.allclose(
        semantic_constraint_loss(p, reduction='none'), per_image)
    assert SemanticConstraintLoss()(p).item() == pytest.approx(
        per_image.mean().item())
    assert semantic_constraint_loss(
        torch.tensor([[0.5, 0.5]])).item() == pytest.approx(2 * math.log(2))
    assert semantic_constraint_loss(torch.ones(4, 2)).item() == 0.0
    near_one = semantic_constraint_loss(torch.full((1, 2), 0.999999))
    assert 0 < near_one.item() < 1e-5


def test_semantic_constraint_loss_safe_and_logits():
    zero = torch.zeros(2, 2, requires_grad=True)
    value = semantic_constraint_loss(zero)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(zero.grad).all()
    assert value.item() == pytest.approx(-2 * math.log(1e-7), rel=1e-5)
    logits = torch.tensor([[2.0, -1.0], [-300.0, 40.0]], requires_grad=True)
    from_logits = SemanticConstraintLoss(from_logits=True)(logits)
    from_logits.backward()
    assert torch.isfinite(from_logits) and torch.isfinite(logits.grad).all()
    assert logits.grad[1, 0].item() < 0  # still pushes the logit up
    p = torch.sigmoid(logits[:1].detach())
    assert semantic_constraint_loss(logits[:1].detach(), from_logits=True
                                    ).item() == pytest.approx(
        semantic_constraint_loss(p).item(), rel=1e-5)


def test_semantic_constraint_loss_input_checks():
    with pytest.raises(ValueError, match=r'shape \(B, 2\)'):
        semantic_constraint_loss(torch.rand(4))
    with pytest.raises(ValueError, match='from_logits=True'):
        semantic_constraint_loss(torch.tensor([[1.5, 0.2]]))
