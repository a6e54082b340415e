"""FusionLoss (MSFAM Eq. 2): its terms and weights, the L1 modes, and every
loss registered and buildable from a config."""
import math

import pytest
import torch

from msfam_mm.models.losses import FusionLoss, fusion_l1_loss, pull_push_loss

from loss_references import _smooth_random


# --------------------------------------------------------------------------
# Eq. 2 fusion loss
# --------------------------------------------------------------------------
def test_fusion_loss_terms_and_weights():
    vis = _smooth_random(64, 64, seed=16).repeat(2, 1, 1, 1)
    ir = _smooth_random(64, 64, seed=17).repeat(2, 1, 1, 1)
    fused = (0.5 * (vis + ir)).requires_grad_(True)
    probs = torch.tensor([[0.9, 0.7], [0.6, 0.8]])
    terms = FusionLoss()(vis, ir, fused, probs)
    assert set(terms) == {'loss_l1', 'loss_constraint', 'loss_pull_push'}
    l1 = 0.5 * ((fused - vis).abs().mean() + (fused - ir).abs().mean())
    assert terms['loss_l1'].item() == pytest.approx(l1.item(), rel=1e-6)
    assert terms['loss_constraint'].item() == pytest.approx(
        0.84 * -torch.log(probs).sum(1).mean().item(), rel=1e-6)
    assert terms['loss_pull_push'].item() == pytest.approx(
        2 * pull_push_loss(vis, ir, fused).item(), rel=1e-6)
    sum(terms.values()).backward()
    assert torch.isfinite(fused.grad).all() and fused.grad.abs().sum() > 0

    custom = FusionLoss(l1_weight=0.5, constraint_weight=1.0,
                        pull_push_weight=3.0, l1_mode='max')(vis, ir, fused,
                                                             probs)
    assert custom['loss_l1'].item() == pytest.approx(
        0.5 * fusion_l1_loss(vis, ir, fused, 'max').item(), rel=1e-6)
    assert custom['loss_pull_push'].item() == pytest.approx(
        1.5 * terms['loss_pull_push'].item(), rel=1e-6)


def test_fusion_loss_zero_weights_switch_terms_off():
    vis, ir = torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32)
    fused = 0.5 * (vis + ir)
    no_constraint = FusionLoss(constraint_weight=0)(vis, ir, fused, None)
    assert set(no_constraint) == {'loss_l1', 'loss_pull_push'}
    baseline = FusionLoss(constraint_weight=0, pull_push_weight=0)(
        vis, ir, fused)
    assert set(baseline) == {'loss_l1'}
    with pytest.raises(ValueError, match='`probs`'):
        FusionLoss()(vis, ir, fused, None)
    with pytest.raises(ValueError, match='pull_push_weight'):
        FusionLoss(pull_push_weight=-1)
    logits = FusionLoss(from_logits=True)(vis, ir, fused,
                                          torch.tensor([[3.0, 3.0]]))
    assert logits['loss_constraint'].item() == pytest.approx(
        0.84 * 2 * math.log1p(math.exp(-3.0)), rel=1e-5)


def test_fusion_l1_modes():
    vis, ir = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    assert fusion_l1_loss(vis, ir, vis).item() == 0.5
    assert fusion_l1_loss(vis, ir, vis, mode='max').item() == 1.0
    assert fusion_l1_loss(vis, ir, ir, mode='max').item() == 0.0
    with pytest.raises(ValueError, match='mode'):
        fusion_l1_loss(vis, ir, ir, mode='min')


def test_losses_are_registered_and_buildable():
    from msfam_mm.registry import MODELS
    for name in ['SSIMLoss', 'MSSSIMLoss', 'ReconstructionLoss',
                 'SemanticConstraintLoss', 'PullPushLoss', 'FusionLoss']:
        assert MODELS.get(name) is not None, name
    loss = MODELS.build(dict(type='FusionLoss', constraint_weight=0,
                             pull_push=dict(direction='as_described')))
    assert isinstance(loss, FusionLoss)
    assert loss.pull_push.direction == 'as_described'
