"""Precise BN (msfam_mm.engine.precise_bn_hook): the classifier's BatchNorm
statistics recomputed as the plain average over batches, by the function
and by the hook before validation."""
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import msfam_mm  # noqa: F401  (registers everything)
from msfam_mm.engine import PreciseBNHook, recompute_bn_statistics
from msfam_mm.registry import MODELS
from msfam_mm.utils import load_checkpoint_safe


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


def test_recompute_bn_statistics_is_the_plain_batch_average():
    """Precise BN: the running mean/var become the average of the batches'
    own statistics (not an exponential average), momentum and train/eval
    mode are restored, and bad input is refused."""
    model = MODELS.build(dict(type='SemanticConstraintModel'))
    model.eval()
    g = torch.Generator().manual_seed(0)
    xs = [torch.rand(3, 1, 40, 48, generator=g) * (i + 1) for i in range(3)]
    batches = [dict(inputs=list(x), data_samples=None) for x in xs]
    assert recompute_bn_statistics(model, batches, num_batches=2) == 2
    conv, bn = model.classifier.features[0], model.classifier.features[1]
    with torch.no_grad():
        outs = [conv(x) for x in xs[:2]]
    mean = torch.stack([o.mean((0, 2, 3)) for o in outs]).mean(0)
    var = torch.stack([o.transpose(0, 1).flatten(1).var(1)
                       for o in outs]).mean(0)
    assert torch.allclose(bn.running_mean, mean, rtol=1e-4, atol=1e-6)
    assert torch.allclose(bn.running_var, var, rtol=1e-4, atol=1e-6)
    assert bn.momentum == 0.1 and int(bn.num_batches_tracked) == 2
    assert not model.training
    with pytest.raises(ValueError, match='no BatchNorm'):
        recompute_bn_statistics(MODELS.build(dict(type='MSFAMReconstructor')),
                                batches, 1)
    with pytest.raises(ValueError, match='no batch'):
        recompute_bn_statistics(model, [], 1)


def test_recompute_bn_statistics_leaves_frozen_and_unused_layers(
        repo_root):
    """Only BatchNorm layers that train and that the forward pass reaches
    are recomputed: stage 2's frozen classifier (kept in eval mode, not run
    in 'tensor' mode) and a layer outside the forward keep their
    statistics."""
    cfg = Config.fromfile(str(repo_root / 'configs' / 'msfam_stage2.py'))
    cfg.model.stage1_checkpoint = cfg.model.classifier_checkpoint = None
    fusion = MODELS.build(cfg.model)
    bn = fusion.classifier.features[1]
    with torch.no_grad():
        bn.running_mean.fill_(0.7)
        bn.running_var.fill_(3.0)
    pair = dict(inputs=[dict(vis=torch.rand(1, 32, 32),
                             ir=torch.rand(1, 32, 32))], data_samples=None)
    with pytest.raises(ValueError, match='no BatchNorm layer in training'):
        recompute_bn_statistics(fusion, [pair], 1)
    assert torch.all(bn.running_mean == 0.7)
    assert torch.all(bn.running_var == 3.0)

    model = MODELS.build(dict(type='SemanticConstraintModel'))
    model.unused = torch.nn.BatchNorm2d(4)
    with torch.no_grad():
        model.unused.running_mean.fill_(0.7)
    batch = dict(inputs=[torch.rand(1, 32, 32)] * 2, data_samples=None)
    assert recompute_bn_statistics(model, [batch], 1) == 1
    assert torch.all(model.unused.running_mean == 0.7)
    assert int(model.classifier.features[1].num_batches_tracked) == 1


def test_precise_bn_hook_before_validation(repo_root, data_root, tmp_path,
                                           fast_cfg):
    """The hook recomputes the classifier's statistics over its batches
    before the validation, and the best checkpoint holds them."""
    cfg = fast_cfg(repo_root, 'msfam_constraint', tmp_path, data_root)
    cfg.custom_hooks = [dict(type='PreciseBNHook', num_batches=3)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    # 2 training iterations, then reset + 3 calibration batches
    bn = runner.model.classifier.features[1]
    assert int(bn.num_batches_tracked) == 3 and bn.momentum == 0.1
    best = [f for f in os.listdir(tmp_path) if f.startswith('best_')]
    state = load_checkpoint_safe(tmp_path / best[0])['state_dict']
    assert int(state['classifier.features.1.num_batches_tracked']) == 3
    assert torch.equal(state['classifier.features.1.running_mean'],
                       bn.running_mean)
    with pytest.raises(ValueError, match='positive int'):
        PreciseBNHook(num_batches=0)
