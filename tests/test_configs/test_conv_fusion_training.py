"""The Table 2 ablation config (configs/cpu/ablations/
msfam_stage2_cpu_conv_fusion.py) trains: the shipped stage-2 recipe with
convolutional fusion blocks, from a stage-1 checkpoint, shrunk to two
iterations on real pairs (the ``fast_cfg`` fixture)."""
import pytest
import torch
from mmengine.runner import Runner

from msfam_mm.models.networks import ConvFusionBlock
from msfam_mm.utils import load_checkpoint_safe

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures('msfam_mm_scope')]

CONFIG = 'cpu/ablations/msfam_stage2_cpu_conv_fusion'


def test_conv_fusion_ablation_trains_its_blocks_on_frozen_encoder(
        repo_root, data_root, stage1_ckpt, tmp_path, fast_cfg):
    cfg = fast_cfg(repo_root, CONFIG, tmp_path, data_root)
    cfg.model.stage1_checkpoint = str(stage1_ckpt)
    runner = Runner.from_cfg(cfg)
    net = runner.model.net
    assert [type(b) for b in net.fusion_blocks] == [ConvFusionBlock] * 4
    runner.train()
    assert runner.iter == 2
    s1 = load_checkpoint_safe(stage1_ckpt)['state_dict']
    own = runner.model.state_dict()
    # the encoder is frozen at its stage-1 weights, the decoder fine-tuned
    for k, v in s1.items():
        if k.startswith('net.encoder.'):
            assert torch.equal(own[k], v), k
    assert any(not torch.equal(own[k], v) for k, v in s1.items()
               if k.startswith('net.decoder.'))
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))
    # the optimizer trains the conv blocks at the fusion blocks' 1x rate
    groups = runner.optim_wrapper.optimizer.param_groups
    base_lr = cfg.optim_wrapper.optimizer.lr
    conv_params = {id(p) for p in net.fusion_blocks.parameters()}
    rates = {g['initial_lr'] if 'initial_lr' in g else g['lr']
             for g in groups
             if any(id(p) in conv_params for p in g['params'])}
    assert rates == {base_lr}
    saved = load_checkpoint_safe(tmp_path / 'iter_2.pth')['state_dict']
    assert 'net.fusion_blocks.0.convs.0.weight' in saved
