"""The three MSFAM trainings on mmengine, from the configs of configs/, on
real TNO/RoadScene pairs.

Configs keep the paper's defaults; the tests shrink them (the
``fast_cfg`` fixture of tests/conftest.py: 64x64 crops, batch 2, a few
iterations, no dataloader workers) through the same config system users
override with --cfg-options."""
import copy
import itertools
import os
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

import msfam_mm  # noqa: F401  (registers everything)
from msfam_mm.registry import MODELS
from msfam_mm.utils import load_checkpoint_safe, set_data_root


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


# ----------------------------------------------------- stage-2 optimizer --
def test_decoder_lr_is_half_base_and_frozen_parts_excluded(repo_root,
                                                           data_root):
    cfg = Config.fromfile(str(repo_root / 'configs' / 'msfam_stage2.py'))
    cfg.model.stage1_checkpoint = cfg.model.classifier_checkpoint = None
    model = MODELS.build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    base = cfg.optim_wrapper.optimizer.lr
    assert base == 1e-4  # Section 4.1
    lr_of = {}
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            lr_of[id(p)] = group['lr']
    seen = set()
    for name, p in model.named_parameters():
        if name.startswith('net.decoder.'):
            assert lr_of[id(p)] == pytest.approx(0.5 * base), name
            seen.add('decoder')
        elif name.startswith('net.fusion_blocks.'):
            assert lr_of[id(p)] == pytest.approx(base), name
            assert p.requires_grad
            seen.add('fusion')
        else:
            assert name.startswith(('net.encoder.', 'classifier.')), name
            assert not p.requires_grad, name
            seen.add('frozen')
    assert seen == {'decoder', 'fusion', 'frozen'}


def test_classifier_sampling_follows_the_run_seed(repo_root, data_root):
    """randomness.seed changes the classifier's draw order (a seed fixed in
    the sampler config would make every seed draw the same batches)."""
    cfg = Config.fromfile(str(repo_root / 'configs' / 'msfam_constraint.py'))
    set_data_root(cfg, str(data_root))
    loader_cfg = dict(cfg.train_dataloader, num_workers=0,
                      persistent_workers=False)
    orders = {}
    for seed in (0, 5):
        loader = Runner.build_dataloader(copy.deepcopy(loader_cfg),
                                         seed=seed)
        assert loader.sampler.seed == seed
        orders[seed] = list(itertools.islice(iter(loader.sampler), 32))
    assert orders[0] != orders[5]


# ------------------------------------------------ the three trainings --
def test_stage1_config_trains_on_real_images(stage1_ckpt):
    state = load_checkpoint_safe(stage1_ckpt)['state_dict']
    assert any(k.startswith('net.encoder.') for k in state)
    assert any(k.startswith('net.decoder.') for k in state)
    assert not any(k.startswith('net.fusion_blocks.') for k in state)


def test_constraint_config_trains_on_real_images(classifier_ckpt):
    state = load_checkpoint_safe(classifier_ckpt)['state_dict']
    assert state and all(k.startswith('classifier.') for k in state)


def test_stage2_config_trains_from_both_checkpoints(
        repo_root, data_root, stage1_ckpt, classifier_ckpt, tmp_path,
        stage2_cfg):
    cfg = stage2_cfg(repo_root, tmp_path, data_root, stage1_ckpt,
                     classifier_ckpt)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    model = runner.model
    s1 = load_checkpoint_safe(stage1_ckpt)['state_dict']
    cls = load_checkpoint_safe(classifier_ckpt)['state_dict']
    own = model.state_dict()
    # frozen parts still hold exactly the loaded weights after training
    for k, v in s1.items():
        if k.startswith('net.encoder.'):
            assert torch.equal(own[k], v), k
    for k, v in cls.items():
        assert torch.equal(own[k], v), k
    # the decoder started from stage 1 and was fine-tuned
    assert any(not torch.equal(own[k], v) for k, v in s1.items()
               if k.startswith('net.decoder.'))
    assert not model.classifier.training
    hub = runner.message_hub
    for term in ('loss_l1', 'loss_constraint', 'loss_pull_push'):
        assert torch.isfinite(torch.tensor(
            hub.get_scalar(f'train/{term}').current()))
    assert 0. <= hub.get_scalar('val/fusion/MS_SSIM').current() <= 1.
    best = [f for f in os.listdir(tmp_path) if f.startswith('best_fusion')]
    assert len(best) == 1
    saved = load_checkpoint_safe(tmp_path / best[0])['state_dict']
    assert any(k.startswith('net.fusion_blocks.') for k in saved)
    assert any(k.startswith('classifier.') for k in saved)


def test_fusion_only_ablation_trains_the_encoder(repo_root, data_root,
                                                 tmp_path, fast_cfg):
    cfg = fast_cfg(repo_root, 'cpu/ablations/msfam_fusion_only_cpu',
                   tmp_path, data_root)
    cfg.experiment_name = f'fusion_only_{uuid.uuid4().hex[:8]}'
    runner = Runner.from_cfg(cfg)
    before = {k: v.clone() for k, v in
              runner.model.net.encoder.state_dict().items()}
    runner.train()
    after = runner.model.net.encoder.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert 'loss_constraint' not in runner.message_hub.log_scalars \
        and 'train/loss_constraint' not in runner.message_hub.log_scalars
