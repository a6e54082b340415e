"""The training models (msfam_mm.models.architectures): stage 2 updates only
the fusion blocks and decoder, checks the stage-1 checkpoint it starts
from, keeps the losses in float32 under bfloat16 autocast and feeds the
constraint classifier the image it outputs."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import msfam_mm  # noqa: F401  (registers everything)
from msfam_mm.registry import DATASETS, MODELS


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


def _real_pair_batch(cfg, n=2):
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    items = [ds[i] for i in range(n)]
    return dict(inputs=dict(vis=[it['inputs']['vis'] for it in items],
                            ir=[it['inputs']['ir'] for it in items]),
                data_samples=[it['data_samples'] for it in items])


def test_frozen_parameters_receive_no_update(repo_root, data_root,
                                             fast_cfg):
    cfg = fast_cfg(repo_root, 'msfam_stage2', data_root / 'unused',
                   data_root)
    cfg.model.stage1_checkpoint = cfg.model.classifier_checkpoint = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    assert not model.classifier.training
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    batch = _real_pair_batch(cfg)
    losses = model.train_step(batch, optim)
    assert set(losses) >= {'loss_l1', 'loss_constraint', 'loss_pull_push'}
    changed = {k for k, v in model.named_parameters()
               if not torch.equal(v, before[k])}
    assert not any(k.startswith(('net.encoder.', 'classifier.'))
                   for k in changed)
    assert any(k.startswith('net.decoder.') for k in changed)
    assert any(k.startswith('net.fusion_blocks.') for k in changed)


def test_stage2_rejects_mismatched_stage1_checkpoint(
        repo_root, classifier_ckpt):
    cfg = Config.fromfile(str(repo_root / 'configs' / 'msfam_stage2.py'))
    cfg.model.stage1_checkpoint = str(classifier_ckpt)  # wrong file
    cfg.model.classifier_checkpoint = None
    model = MODELS.build(cfg.model)
    with pytest.raises(KeyError, match='no weights with prefix'):
        model.init_weights()


@pytest.mark.parametrize('kind', ['stage1', 'stage2'])
def test_bf16_autocast_losses_stay_float32_on_real_crops(tno42, kind):
    """--amp runs the network in bfloat16 but Eqs. 1, 2 and 8 in float32:
    the loss terms are float32, close to the fp32 run of the same weights,
    and give finite gradients."""
    import cv2
    vis = cv2.imread(str(tno42 / 'vi' / '10.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '10.png'), cv2.IMREAD_GRAYSCALE)
    vis, ir = (torch.from_numpy(a[100:164, 100:164].copy()).float().div(255)
               [None, None].repeat(2, 1, 1, 1) for a in (vis, ir))
    torch.manual_seed(0)
    net = dict(type='MSFAMNet', stem_channels=4, widths=(8, 8, 16, 16),
               with_fusion=kind == 'stage2')
    if kind == 'stage1':
        model = MODELS.build(dict(type='MSFAMReconstructor', net=net))
        inputs = vis
    else:
        model = MODELS.build(dict(type='MSFAMFusion', net=net))
        inputs = dict(vis=vis, ir=ir)
    model.train()
    ref = model(inputs, mode='loss')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = model(inputs, mode='loss')
    assert set(low) == set(ref)
    for key in ref:
        assert low[key].dtype == torch.float32, key
        assert low[key].item() == pytest.approx(ref[key].item(), rel=0.05,
                                                abs=0.01), key
    sum(low.values()).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize('mode', ['minmax', 'raw'])
def test_constraint_classifier_judges_the_output_image(mode):
    """Eq. 8 scores the min-max normalised image the model outputs
    (Section 4.1), so out-of-range values cannot fool the classifier."""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='MSFAMFusion', constraint_input=mode,
        net=dict(type='MSFAMNet', stem_channels=4, widths=(8, 8, 16, 16))))
    fused = torch.rand(2, 1, 32, 32) * 0.5 + 0.2
    fused[:, :, :, -1] = 3.0  # the border exploit seen with mode='raw'
    seen = {}
    model.classifier.register_forward_pre_hook(
        lambda module, args: seen.setdefault('x', args[0]))
    model.constraint_scores(fused)
    x = seen['x']
    if mode == 'raw':
        assert torch.equal(x, fused)
    else:
        assert x.amin().item() == 0.0 and x.amax().item() == 1.0
        expected = (fused - fused.amin((1, 2, 3), keepdim=True)) / (
            fused.amax((1, 2, 3), keepdim=True)
            - fused.amin((1, 2, 3), keepdim=True))
        torch.testing.assert_close(x, expected)
    with pytest.raises(ValueError, match='constraint_input'):
        MODELS.build(dict(type='MSFAMFusion', constraint_input='clip'))
