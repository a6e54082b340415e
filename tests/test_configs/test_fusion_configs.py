"""The fusion configs of configs/ (configs/README.md): every one builds its
model, the shipped CPU recipe is the base the ablations and variants
inherit from, and each of them changes exactly what the README says it
changes, compared on what the mmengine Runner is given."""
import ast
import inspect
import math
import re
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import msfam_mm  # noqa: F401  (registers everything)
from msfam_mm.registry import MODELS

# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
# the fusion configs; the detection configs (configs/gflv2/) have their own
# tests, and configs/_base_/ holds fragments, not runs
FUSION_CONFIGS = sorted(
    p.relative_to(CONFIGS).as_posix() for p in CONFIGS.rglob('*.py')
    if p.relative_to(CONFIGS).parts[0] not in ('_base_', 'gflv2'))

SHIPPED = {'stage1': 'cpu/msfam_stage1_cpu.py',
           'classifier': 'cpu/msfam_constraint_cpu.py',
           'stage2': 'cpu/msfam_stage2_cpu.py'}
REMOVED = '<removed>'
CROP = 'train_dataloader.dataset.pipeline[1].crop_size'
WITH_CONSTRAINT = {  # Eq. 2's alpha_2 of Section 4.1, the CPU classifier
    'model.loss.constraint_weight': 0.84,
    'model.classifier_checkpoint':
        'work_dirs/msfam_constraint_cpu/best_constraint_accuracy_*.pth'}
EQUAL_WEIGHTS = {'model.loss.pull_push.direction': 'equal'}
FIRST_100 = {'train_cfg.max_iters': 100}


def _longer(iters, checkpoint_interval):
    """max_iters and the cosine stretched to it, sparser checkpoints."""
    return {'train_cfg.max_iters': iters, 'param_scheduler[0].end': iters,
            'param_scheduler[0].T_max': iters,
            'default_hooks.checkpoint.interval': checkpoint_interval}


PRECISE_BN = {'custom_hooks[0].type': 'PreciseBNHook',
              'custom_hooks[0].num_batches': 60}

# config: (the config it is compared with, every change to what the Runner
# is given, as flattened key -> new value); the ablations and stage-2
# variants are compared with the shipped stage 2, the classifier variants
# with the shipped classifier
DOCUMENTED_CHANGES = {
    'cpu/ablations/msfam_stage2_cpu_full.py':
        (SHIPPED['stage2'], {CROP: (128, 128), **WITH_CONSTRAINT}),
    'cpu/ablations/msfam_stage2_cpu_no_constraint.py':
        (SHIPPED['stage2'], {CROP: (128, 128), **FIRST_100}),
    'cpu/ablations/msfam_stage2_cpu_no_pullpush.py':
        (SHIPPED['stage2'], {CROP: (128, 128), **WITH_CONSTRAINT,
                             **EQUAL_WEIGHTS, **FIRST_100}),
    'cpu/ablations/msfam_stage2_cpu_baseline.py':
        (SHIPPED['stage2'], {CROP: (128, 128), **EQUAL_WEIGHTS,
                             **FIRST_100}),
    'cpu/ablations/msfam_fusion_only_cpu.py':
        (SHIPPED['stage2'], {
            CROP: (128, 128), **EQUAL_WEIGHTS, **FIRST_100,
            'model.stage1_checkpoint': None, 'model.freeze_encoder': False,
            'optim_wrapper.paramwise_cfg.custom_keys.net.encoder.lr_mult':
                1.0,
            'optim_wrapper.paramwise_cfg.custom_keys.net.decoder.lr_mult':
                1.0,
            'custom_hooks[0].frozen_modules': ('classifier', )}),
    'cpu/ablations/msfam_stage2_cpu_conv_fusion.py':
        (SHIPPED['stage2'], {'model.net.fusion_block': 'conv'}),
    'cpu/variants/msfam_stage2_cpu_128x128.py':
        (SHIPPED['stage2'], {CROP: (128, 128)}),
    'cpu/variants/msfam_stage2_cpu_128x128_600.py':
        (SHIPPED['stage2'], {CROP: (128, 128), **_longer(600, 100)}),
    'cpu/variants/msfam_stage2_cpu_160x160_600.py':
        (SHIPPED['stage2'], {CROP: (160, 160), **_longer(600, 100)}),
    'cpu/variants/msfam_stage2_cpu_ms_ssim_shift.py':
        (SHIPPED['stage2'], {'model.loss.pull_push.ms_ssim_terms': 'shift'}),
    'cpu/variants/msfam_constraint_cpu_precise_bn.py':
        (SHIPPED['classifier'], PRECISE_BN),
    'cpu/variants/msfam_constraint_cpu_9000.py':
        (SHIPPED['classifier'], {**_longer(9000, 1000),
                                 'train_cfg.val_interval': 1000}),
    'cpu/variants/msfam_constraint_cpu_9000_precise_bn.py':
        (SHIPPED['classifier'], {**_longer(9000, 1000),
                                 'train_cfg.val_interval': 1000,
                                 **PRECISE_BN}),
}
# the configs outside the table: the paper's recipe and the shipped one,
# and the cross-dataset protocol's (test_cross_configs.py checks its data)
PAPER = ['msfam_constraint.py', 'msfam_stage1.py', 'msfam_stage2.py']
CROSS = ['cross/msfam_constraint_cross.py', 'cross/msfam_stage1_cross.py',
         'cross/msfam_stage2_cross.py']


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIGS / name))


def _flatten(node, path=''):
    """{'a.b[0].c': leaf}; tuples and scalars are leaves."""
    if isinstance(node, dict):
        items = [(f'{path}.{k}' if path else str(k), v)
                 for k, v in node.items()]
    elif isinstance(node, list):
        items = [(f'{path}[{i}]', v) for i, v in enumerate(node)]
    else:
        return {path: node}
    out = {}
    for key, value in items:
        out.update(_flatten(value, key))
    return out


RUNNER_ARGS = set(inspect.signature(Runner.__init__).parameters) - {
    'self', 'cfg', 'work_dir', 'experiment_name'}


def runner_changes(cfg: Config, base: Config) -> dict:
    """What ``cfg`` gives the Runner differently from ``base``: flattened
    key -> new value (``REMOVED`` where ``base`` has a key ``cfg`` lacks).
    Intermediate variables of the files (``max_iters``, ``train_pipeline``,
    ...) are not compared; the Runner never reads them."""
    a = _flatten({k: v for k, v in cfg.to_dict().items() if k in RUNNER_ARGS})
    b = _flatten({k: v for k, v in base.to_dict().items()
                  if k in RUNNER_ARGS})
    return {k: a.get(k, REMOVED) for k in set(a) | set(b)
            if a.get(k, REMOVED) != b.get(k, REMOVED)}


def test_every_fusion_config_is_accounted_for():
    """A new config gets a row in DOCUMENTED_CHANGES (and in
    configs/README.md), so nobody has to guess what it is."""
    assert set(FUSION_CONFIGS) == (set(DOCUMENTED_CHANGES) | set(PAPER)
                                   | set(SHIPPED.values()) | set(CROSS))


@pytest.mark.parametrize('name', FUSION_CONFIGS)
def test_config_builds_its_model_through_the_registry(name):
    cfg = load(name)
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == cfg.model.type
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize('name', sorted(DOCUMENTED_CHANGES))
def test_config_changes_only_its_documented_keys(name):
    base_name, documented = DOCUMENTED_CHANGES[name]
    assert runner_changes(load(name), load(base_name)) == documented


def test_change_detection_sees_a_changed_pipeline_step():
    """The comparison reaches into pipelines: one flip probability off is
    a change (so the table above cannot pass by comparing too little)."""
    base = load(SHIPPED['stage2'])
    cfg = load(SHIPPED['stage2'])
    cfg.train_dataloader.dataset.pipeline[2].hflip_prob = 0.4
    cfg.foo_intermediate = 1  # not given to the Runner: ignored
    assert runner_changes(cfg, base) == {
        'train_dataloader.dataset.pipeline[2].hflip_prob': 0.4}


def _base_files(path: Path):
    """Every file ``path`` inherits from, nearest first."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if (isinstance(node, ast.Assign)
                and getattr(node.targets[0], 'id', None) == '_base_'):
            for rel in ast.literal_eval(node.value):
                base = (path.parent / rel).resolve()
                yield base
                yield from _base_files(base)


def test_shipped_recipe_inherits_from_no_ablation_or_variant():
    for name in SHIPPED.values():
        bases = [b.relative_to(CONFIGS).as_posix()
                 for b in _base_files(CONFIGS / name)]
        assert bases, name
        assert not [b for b in bases
                    if b.startswith(('cpu/ablations/', 'cpu/variants/'))]


def test_ablations_and_variants_inherit_from_the_shipped_recipe():
    for name, (base_name, _) in DOCUMENTED_CHANGES.items():
        bases = [b.relative_to(CONFIGS).as_posix()
                 for b in _base_files(CONFIGS / name)]
        assert base_name in bases, name


def test_shipped_stage2_is_the_recipe_of_the_shipped_weights():
    """checkpoints/README.md, step 5: Eq. 2 with alpha_2 = 0 on the
    paper's 256x320 crops, batch 4, 300 iterations of Adam 1e-3 decaying
    to 1e-5 by a cosine that ends on the last one, from the CPU stage 1."""
    cfg = load(SHIPPED['stage2'])
    loss = cfg.model.loss
    assert (loss.l1_weight, loss.constraint_weight,
            loss.pull_push_weight) == (1.0, 0.0, 2.0)
    assert cfg.model.classifier_checkpoint is None
    assert loss.pull_push.get('direction', 'as_written') == 'as_written'
    assert loss.pull_push.padding == 'reflect'
    assert cfg.model.stage1_checkpoint == \
        'work_dirs/msfam_stage1_cpu/iter_*.pth'
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.crop_size == (256, 320)
    assert cfg.train_dataloader.dataset.pipeline == \
        load('msfam_stage2.py').train_dataloader.dataset.pipeline
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.max_iters == 300
    (sched, ) = cfg.param_scheduler
    assert (sched.type, sched.begin, sched.end, sched.T_max,
            sched.eta_min) == ('CosineAnnealingLR', 0, 300, 300, 1e-5)
    assert cfg.default_hooks.checkpoint.interval == 50
    assert cfg.val_dataloader is None


def test_shipped_stage1_and_classifier_recipes():
    """checkpoints/README.md, steps 1 and 2."""
    stage1 = load(SHIPPED['stage1'])
    assert (stage1.train_cfg.max_iters, stage1.train_dataloader.batch_size,
            stage1.crop_size) == (800, 8, (64, 64))
    assert stage1.optim_wrapper.optimizer.lr == 1e-3
    assert stage1.param_scheduler == []  # constant rate
    cls = load(SHIPPED['classifier'])
    assert (cls.train_cfg.max_iters, cls.train_cfg.val_interval,
            cls.train_dataloader.batch_size, cls.crop_size) == \
        (3000, 500, 16, (128, 160))
    assert cls.custom_hooks == []
    # validation on central crops of the paper's size, as in stage 2
    for source in cls.val_dataloader.dataset.datasets:
        assert source.pipeline[1] == dict(
            type='SyncedCenterCrop', crop_size=(256, 320),
            keys=source.pipeline[0]['keys'])


@pytest.mark.parametrize('name', FUSION_CONFIGS)
def test_crop_size_names_the_training_crop(name):
    """``crop_size`` (which tools/make_report.py reports) is the crop every
    training pipeline of the config takes."""
    cfg = load(name)
    dataset = cfg.train_dataloader.dataset
    sources = dataset.get('datasets', [dataset])
    crops = {tuple(step.crop_size) for source in sources
             for step in source.pipeline if step.type == 'SyncedRandomCrop'}
    assert crops == {tuple(cfg.crop_size)}


def test_stage2_ablations_compare_equal_lengths():
    """The 100-iteration rows are the first 100 iterations of the full
    run's 300-iteration cosine, so the table compares like with like."""
    full = load('cpu/ablations/msfam_stage2_cpu_full.py')
    assert full.train_cfg.max_iters == 300
    for name in ('no_constraint', 'no_pullpush', 'baseline'):
        cfg = load(f'cpu/ablations/msfam_stage2_cpu_{name}.py')
        assert cfg.param_scheduler == full.param_scheduler, name
        assert cfg.train_cfg.max_iters == 100
        assert cfg.param_scheduler[0].T_max == 300


def test_readme_gives_a_command_for_every_config():
    readme = (CONFIGS / 'README.md').read_text()
    for name in FUSION_CONFIGS:
        assert f'tools/train.py configs/{name}' in readme, name


def test_configs_carry_no_dates():
    """History belongs in docs/ (with its commands), not in configs."""
    for path in CONFIGS.rglob('*.py'):
        assert not re.search(r'\b20\d\d-\d\d', path.read_text()), path


def test_paper_stage1_runs_the_papers_number_of_updates():
    """Two FLIR epochs at batch 4 (Section 4.1) are 10090 updates; two
    epochs of the images available here would be a fortieth of that. Stage
    2 loads the checkpoint that length writes."""
    cfg = load('msfam_stage1.py')
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.max_iters == 2 * math.ceil((9676 + 10501) / 4)
    assert not cfg.default_hooks.checkpoint.by_epoch
    assert cfg.default_hooks.checkpoint.save_last
    assert load('msfam_stage2.py').model.stage1_checkpoint.endswith(
        f'/iter_{cfg.train_cfg.max_iters}.pth')


def test_paper_classifier_schedule_recomputes_bn_statistics():
    assert load('msfam_constraint.py').custom_hooks == [
        dict(type='PreciseBNHook', num_batches=60)]
