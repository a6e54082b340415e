"""CompileHook: the training path compiled, validation eager, checkpoints and
optimizer untouched (msfam_mm.engine.compile_hook)."""
import logging
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from msfam_mm.engine.compile_hook import (CompileHook, compile_methods,
                                          restore_methods, training_targets)
from msfam_mm.models.architectures import (MSFAMFusion, MSFAMReconstructor,
                                           SemanticConstraintModel)

pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


def _runner(model):
    return SimpleNamespace(model=model, logger=logging.getLogger('test'))


def test_compile_methods_keeps_state_dict_and_restores_eager():
    model = MSFAMReconstructor()
    keys = list(model.state_dict())
    saved = compile_methods(model, ['net.reconstruct'])
    # the compiled function sits on the instance; the class method is intact
    assert 'reconstruct' in model.net.__dict__
    assert list(model.state_dict()) == keys
    restore_methods(model, saved)
    assert 'reconstruct' not in model.net.__dict__


def test_unknown_targets_are_named():
    model = MSFAMReconstructor()
    with pytest.raises(ValueError, match="no submodule 'encoder'"):
        compile_methods(model, ['encoder.forward'])
    with pytest.raises(ValueError, match="no method 'fuse_all'"):
        compile_methods(model, ['net.fuse_all'])
    with pytest.raises(ValueError, match='no default methods for Sequential'):
        training_targets(nn.Sequential())


def test_training_targets_follow_the_loss():
    assert training_targets(MSFAMReconstructor()) == ('net.reconstruct', )
    assert training_targets(SemanticConstraintModel()) == (
        'classifier.forward_logits', )
    full = MSFAMFusion()
    assert training_targets(full) == ('net.forward', 'classifier.forward',
                                      'classifier.forward_logits')
    # alpha_2 = 0: the classifier never runs, nothing of it is compiled
    no_constraint = MSFAMFusion(loss=dict(type='FusionLoss',
                                          constraint_weight=0.0))
    assert training_targets(no_constraint) == ('net.forward', )


def test_hook_compiles_for_training_only():
    model = MSFAMFusion(loss=dict(type='FusionLoss', constraint_weight=0.0))
    runner = _runner(model)
    hook = CompileHook()
    hook.before_train(runner)
    compiled = model.net.__dict__['forward']
    hook.before_val_epoch(runner)
    assert 'forward' not in model.net.__dict__
    hook.after_val_epoch(runner)
    assert model.net.__dict__['forward'] is compiled  # not compiled anew
    hook.after_train(runner)
    assert 'forward' not in model.net.__dict__


def test_disabled_hook_leaves_the_model_eager():
    model = MSFAMReconstructor()
    hook = CompileHook(enabled=False)
    hook.before_train(_runner(model))
    assert 'reconstruct' not in model.net.__dict__


def test_compiled_step_trains_like_eager():
    """One training step of stage 1, compiled against eager, from the same
    weights on the same batch: the same loss and the same gradient (fp32,
    where the two differ only by the order of float sums; on 64x64 inputs,
    as the instance norms of the 8x8 deepest scale amplify those
    differences on smaller ones: 10 % in the first layers at 32x32)."""
    torch.manual_seed(0)
    batch = torch.rand(2, 1, 64, 64)
    results = []
    for compiled in (False, True):
        torch.manual_seed(0)
        model = MSFAMReconstructor()
        if compiled:
            compile_methods(model, training_targets(model))
        loss = model(batch, mode='loss')['loss_rec']
        loss.backward()
        results.append((loss.item(), torch.cat(
            [p.grad.flatten() for p in model.parameters()])))
    (loss_e, g_e), (loss_c, g_c) = results
    assert loss_c == pytest.approx(loss_e, rel=1e-5)
    assert ((g_c - g_e).norm() / g_e.norm()).item() < 1e-3
