"""The three MSFAM trainings on mmengine, on real TNO/RoadScene pairs.

Configs keep the paper's defaults; the tests shrink them (64x64 crops,
batch 2, a few iterations, no dataloader workers) through the same config
system users override with --cfg-options.
"""
import copy
import itertools
import os
import os.path as osp
import subprocess
import sys
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

import msfam_mm  # noqa: F401  (registers everything)
from msfam_mm.engine import (FreezeCheckHook, PreciseBNHook,
                             recompute_bn_statistics)
from msfam_mm.registry import DATASETS, MODELS
from msfam_mm.utils import (disable_config_formatting, load_checkpoint_safe,
                            set_data_root)

# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')

CROP = (64, 64)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _walk(item)


def fast_cfg(repo_root, name, work_dir, data_root, max_iters=2):
    """The real config, shrunk for a seconds-long CPU run."""
    cfg = Config.fromfile(str(repo_root / 'configs' / f'{name}.py'))
    set_data_root(cfg, str(data_root))
    disable_config_formatting(cfg)  # yapf dominates short CPU runs
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{name}_{uuid.uuid4().hex[:8]}'
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                         val_interval=max_iters)
    cfg.train_dataloader.batch_size = 2
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader:
            loader.num_workers = 0
            loader.persistent_workers = False
    for node in _walk(cfg._cfg_dict):
        if node.get('type') in ('SyncedRandomCrop', 'SyncedCenterCrop'):
            node['crop_size'] = CROP
    for key in ('val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        ds = loader.dataset
        if ds.type == 'ConcatDataset':
            ds.datasets = [dict(d, indices=2) for d in ds.datasets]
        else:
            ds.indices = 2
            # full-size validation images take long on CPU: crop them too
            keys = ds.pipeline[0]['keys']
            if not any(t['type'] == 'SyncedRandomCrop' for t in ds.pipeline):
                ds.pipeline.insert(
                    1, dict(type='SyncedRandomCrop', crop_size=CROP,
                            keys=keys))
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.checkpoint.by_epoch = False
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor = dict(by_epoch=False)
    return cfg


@pytest.fixture(scope='module')
def data_root(tmp_path_factory, tno42, tno42_fusions, roadscene221):
    root = tmp_path_factory.mktemp('data')
    (root / 'tno42').symlink_to(tno42)
    (root / 'roadscene221').symlink_to(roadscene221)
    (root / 'tno42_published_fusions').symlink_to(tno42_fusions)
    return root


@pytest.fixture(scope='module')
def stage1_ckpt(repo_root, data_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('stage1')
    runner = Runner.from_cfg(
        fast_cfg(repo_root, 'msfam_stage1', work, data_root))
    runner.train()
    assert runner.iter == 2
    loss = runner.message_hub.get_scalar('train/loss_rec').current()
    assert torch.isfinite(torch.tensor(loss))
    return work / 'iter_2.pth'


@pytest.fixture(scope='module')
def classifier_ckpt(repo_root, data_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('constraint')
    runner = Runner.from_cfg(
        fast_cfg(repo_root, 'msfam_constraint', work, data_root))
    runner.train()
    assert runner.iter == 2
    acc = runner.message_hub.get_scalar('val/constraint/accuracy').current()
    assert 0. <= acc <= 100.
    best = [f for f in os.listdir(work) if f.startswith('best_constraint')]
    assert len(best) == 1
    return work / best[0]


def stage2_cfg(repo_root, work, data_root, stage1_ckpt, classifier_ckpt,
               max_iters=2):
    cfg = fast_cfg(repo_root, 'msfam_stage2', work, data_root, max_iters)
    cfg.model.stage1_checkpoint = str(stage1_ckpt)
    cfg.model.classifier_checkpoint = str(
        classifier_ckpt.parent / 'best_constraint_accuracy_*.pth')
    return cfg


def _real_pair_batch(cfg, n=2):
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    items = [ds[i] for i in range(n)]
    return dict(inputs=dict(vis=[it['inputs']['vis'] for it in items],
                            ir=[it['inputs']['ir'] for it in items]),
                data_samples=[it['data_samples'] for it in items])


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


def test_frozen_parameters_receive_no_update(repo_root, data_root):
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


def test_precise_bn_hook_before_validation(repo_root, data_root, tmp_path):
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
        repo_root, data_root, stage1_ckpt, classifier_ckpt, tmp_path):
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


def test_stage2_rejects_mismatched_stage1_checkpoint(
        repo_root, classifier_ckpt):
    cfg = Config.fromfile(str(repo_root / 'configs' / 'msfam_stage2.py'))
    cfg.model.stage1_checkpoint = str(classifier_ckpt)  # wrong file
    cfg.model.classifier_checkpoint = None
    model = MODELS.build(cfg.model)
    with pytest.raises(KeyError, match='no weights with prefix'):
        model.init_weights()


@pytest.mark.slow
def test_tools_test_runs_the_test_loop(repo_root, data_root, stage1_ckpt,
                                       classifier_ckpt, tmp_path):
    cfg = stage2_cfg(repo_root, tmp_path / 'train', data_root, stage1_ckpt,
                     classifier_ckpt)
    Runner.from_cfg(cfg).train()
    cfg_file = tmp_path / 'stage2_fast.py'
    cfg.dump(str(cfg_file))
    out = subprocess.run(
        [sys.executable, str(repo_root / 'tools' / 'test.py'), str(cfg_file),
         str(tmp_path / 'train' / 'iter_2.pth'), '--work-dir',
         str(tmp_path / 'test')],
        cwd=repo_root, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert 'fusion/MS_SSIM' in out.stdout


@pytest.mark.slow
def test_two_process_gloo_stage2(repo_root, data_root, stage1_ckpt,
                                 classifier_ckpt, tmp_path):
    cfg = stage2_cfg(repo_root, tmp_path / 'work', data_root, stage1_ckpt,
                     classifier_ckpt)
    cfg_file = tmp_path / 'stage2_dist.py'
    cfg.dump(str(cfg_file))
    port = str(29500 + os.getpid() % 1000)
    env = dict(os.environ, OMP_NUM_THREADS='1', MASTER_PORT=port,
               PYTHON=sys.executable)
    out = subprocess.run(
        ['bash', str(repo_root / 'tools' / 'dist_train.sh'), str(cfg_file),
         '2'], cwd=repo_root, capture_output=True, text=True, timeout=900,
        env=env)
    log = out.stdout[-4000:] + out.stderr[-4000:]
    assert out.returncode == 0, log
    assert 'Iter(train) [2/2]' in out.stdout + out.stderr, log
    assert osp.isfile(tmp_path / 'work' / 'iter_2.pth')
    state = load_checkpoint_safe(tmp_path / 'work' / 'iter_2.pth')
    assert any(k.startswith('net.fusion_blocks.')
               for k in state['state_dict'])


def _average_bn_worker(rank, port, out_dir):
    import torch.distributed as dist
    from msfam_mm.engine import average_bn_statistics_across_processes
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=2)
    try:
        model = torch.nn.Sequential(torch.nn.BatchNorm2d(3))
        with torch.no_grad():
            model[0].running_mean.fill_(float(rank))
            model[0].running_var.fill_(1.0 + 2.0 * rank)
        n = average_bn_statistics_across_processes(model)
        torch.save(dict(n=n, mean=model[0].running_mean,
                        var=model[0].running_var),
                   osp.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


def test_precise_bn_statistics_agree_across_processes(tmp_path):
    """Two gloo processes with different statistics end with their mean
    (mmengine's wrapper does not broadcast buffers; PreciseBNHook averages
    them so all processes validate and save the same)."""
    import torch.multiprocessing as mp
    from msfam_mm.engine import average_bn_statistics_across_processes
    assert average_bn_statistics_across_processes(
        torch.nn.BatchNorm2d(3)) == 0  # single process: nothing to do
    port = 29500 + (os.getpid() + 500) % 1000
    mp.spawn(_average_bn_worker, args=(port, str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        got = torch.load(tmp_path / f'rank{rank}.pth', weights_only=True)
        assert got['n'] == 1
        assert torch.allclose(got['mean'], torch.full((3, ), 0.5))
        assert torch.allclose(got['var'], torch.full((3, ), 2.0))


def test_autocast_optim_wrapper_runs_bf16_on_cpu():
    """--amp on CPU: the forward pass runs in bfloat16, the step in fp32."""
    from mmengine.model import BaseModel

    seen = {}

    class Tiny(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 1)

        def forward(self, inputs, data_samples=None, mode='loss'):
            out = self.fc(inputs)
            seen['dtype'] = out.dtype
            return dict(loss=out.float().pow(2).mean())

    model = Tiny()
    optim = build_optim_wrapper(model, dict(
        type='AutocastOptimWrapper', dtype='bfloat16',
        optimizer=dict(type='Adam', lr=1e-2)))
    before = model.fc.weight.detach().clone()
    model.train_step(dict(inputs=torch.rand(8, 4)), optim)
    assert seen['dtype'] == torch.bfloat16
    assert model.fc.weight.dtype == torch.float32
    assert not torch.equal(model.fc.weight, before)
    with pytest.raises(ValueError, match='bfloat16'):
        build_optim_wrapper(model, dict(
            type='AutocastOptimWrapper', dtype='float32',
            optimizer=dict(type='Adam', lr=1e-2)))


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


def test_fusion_only_ablation_trains_the_encoder(repo_root, data_root,
                                                 tmp_path):
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
