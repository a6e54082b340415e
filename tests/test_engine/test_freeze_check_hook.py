"""FreezeCheckHook: stage 2's frozen encoder and classifier stay exactly as
loaded (parameters and BatchNorm buffers) and in eval mode."""
import pytest
import torch
from mmengine.config import Config

import msfam_mm  # noqa: F401  (registers everything)
from msfam_mm.engine import FreezeCheckHook
from msfam_mm.registry import MODELS


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


class _FakeRunner:
    def __init__(self, model):
        self.model = model
        self.iter = 0


def test_freeze_check_hook_fails_loudly(repo_root):
    cfg = Config.fromfile(str(repo_root / 'configs' / 'msfam_stage2.py'))
    cfg.model.stage1_checkpoint = cfg.model.classifier_checkpoint = None
    model = MODELS.build(cfg.model)
    hook = FreezeCheckHook()
    runner = _FakeRunner(model)
    hook.before_train(runner)
    model.classifier.train()
    hook.before_train_iter(runner, 0)
    assert not model.classifier.training  # put back into eval mode
    hook.after_train_iter(runner, 0)  # nothing changed: passes
    with torch.no_grad():
        next(model.net.encoder.parameters()).add_(1.)
    with pytest.raises(RuntimeError, match='net.encoder.*changed'):
        hook.after_train_iter(runner, 0)
    # buffers too: the classifier's BatchNorm statistics are part of it
    hook.before_train(runner)
    with torch.no_grad():
        model.classifier.features[1].running_mean.add_(0.5)
    with pytest.raises(RuntimeError,
                       match=r'classifier\.features\.1\.running_mean changed'):
        hook.after_train_iter(runner, 0)
    next(model.classifier.parameters()).requires_grad_(True)
    with pytest.raises(RuntimeError, match='classifier.*requires_grad'):
        hook.before_train_iter(runner, 0)
    with pytest.raises(AttributeError, match='no submodule'):
        FreezeCheckHook(frozen_modules=('net.nope', )).before_train(runner)
