"""Shared test fixtures.

Real data lives in ``../shared/data`` beside the checkout (never copied into
the repository). Tests that need it use the fixtures below, which skip with
the reason when the folder is absent. ``MSFAM_SHARED_DATA`` overrides the path
(point it at an empty folder to see what runs without the data). Tests that
need KAIST's layout but not its real pictures use ``toy_kaist``, generated
here, and run everywhere.
"""
import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get('MSFAM_SHARED_DATA',
                                  REPO_ROOT.parent / 'shared' / 'data'))

# Two cores: keep intra-op threads fixed so timings and results are stable.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope='session', autouse=True)
def _private_graph_cache(tmp_path_factory):
    """Exported fusion graphs are cached per user (msfam_mm.deploy); the
    tests keep theirs in a temporary folder of their own."""
    os.environ['MSFAM_CACHE_DIR'] = str(tmp_path_factory.mktemp('onnx_cache'))


@pytest.fixture(autouse=True)
def _fixed_seeds():
    """Every test starts from the same random state, whatever ran before
    it, so a draw that happens to fail cannot come and go with test order
    (an unseeded draw once made a GFLV2 head test fail 6 times in 40)."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _no_default_scope():
    """Every test starts without an mmengine default scope and leaves the
    state as it found it. The scope decides which registries a build
    searches (msfam_mm's for the fusion core, MMDetection's for the
    detection layer), so a Runner or ``init_default_scope`` in one test
    would otherwise decide what the next test can build. Tests that build
    configs (pipelines, data preprocessors) name their scope with the
    ``msfam_mm_scope`` or ``mmdet_scope`` fixture, as a Runner would."""
    from mmengine.registry import DefaultScope

    # mmengine's own DefaultScope.overwrite_default_scope saves and
    # restores this dict the same way
    saved = DefaultScope._instance_dict.copy()
    DefaultScope._instance_dict.clear()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)


@pytest.fixture
def msfam_mm_scope():
    """The fusion configs' default scope."""
    from mmengine.registry import init_default_scope
    init_default_scope('msfam_mm')


@pytest.fixture
def mmdet_scope():
    """The detection configs' default scope."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')


def _shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.is_dir():
        pytest.skip(f'real data folder {path} is absent '
                    '(expected ../shared/data beside the checkout)')
    return path


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def load_tool():
    """``load_tool(name)``: the module of ``tools/<name>.py`` (tools/ is
    not a package; the tools import each other by name, so it goes on
    ``sys.path``)."""
    import importlib.util
    import sys

    def load(name: str):
        tools = str(REPO_ROOT / 'tools')
        if tools not in sys.path:
            sys.path.insert(0, tools)
        spec = importlib.util.spec_from_file_location(
            f'_tool_{name}', REPO_ROOT / 'tools' / f'{name}.py')
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture(scope='session')
def tno42() -> Path:
    return _shared('tno42')


@pytest.fixture(scope='session')
def tno42_fusions() -> Path:
    return _shared('tno42_published_fusions')


@pytest.fixture(scope='session')
def roadscene221() -> Path:
    return _shared('roadscene221')


@pytest.fixture(scope='session')
def kaist_sample() -> Path:
    return _shared('kaist_sample')


@pytest.fixture(scope='session')
def kaist_improved_annotations() -> Path:
    return _shared('kaist_annotations_improved_test')


@pytest.fixture(scope='session')
def kaist_improved_counts() -> dict:
    """Published counts of the improved KAIST test annotations (Liu et
    al., BMVC 2016), as stated in ../shared/data/README.md and measured
    once: frames of test-all-20.txt, boxes, and boxes per label."""
    return dict(frames=2252, boxes=4254,
                labels={'person': 3390, 'people': 597, 'person?': 177,
                        'cyclist': 90})


#: The toy KAIST that stands in for ``kaist_sample`` where a test needs
#: KAIST's layout, not its pictures: as many frames and the same frame size
#: as the real sample (13 of 640x512), JPEG and PNG, 3-channel lwir, and
#: every frame listed in the sample's list file.
TOY_KAIST_FRAMES = 13
TOY_KAIST_SIZE = (640, 512)
SAMPLE_LIST = 'imageSets/sample-all.txt'


@pytest.fixture(scope='session')
def toy_kaist(tmp_path_factory) -> Path:
    """A synthetic dataset in KAIST's layout
    (msfam_mm.datasets.kaist.toy_kaist), written once per session, so the
    tests of tools and readers that only need the layout run without
    ../shared/data. Tests must not write into it (copy what they damage).
    """
    from msfam_mm.datasets.kaist import make_toy_kaist
    root = tmp_path_factory.mktemp('toy_kaist') / 'kaist'
    manifest = make_toy_kaist(str(root), num_frames=TOY_KAIST_FRAMES,
                              seed=0, size=TOY_KAIST_SIZE)
    frames = sorted(f['frame_id'] for f in manifest['frames'])
    (root / SAMPLE_LIST).write_text(''.join(f + '\n' for f in frames))
    return root


@pytest.fixture(scope='session')
def data_root(tmp_path_factory, tno42, tno42_fusions, roadscene221) -> Path:
    """A data root laid out as data/README.md says (symlinks to the real
    data sets), as the fusion configs expect it."""
    root = tmp_path_factory.mktemp('data')
    (root / 'tno42').symlink_to(tno42)
    (root / 'roadscene221').symlink_to(roadscene221)
    (root / 'tno42_published_fusions').symlink_to(tno42_fusions)
    return root


# ------------------------------------------------ shrunk training runs --
TRAIN_CROP = (64, 64)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _walk(item)


def _fast_cfg(repo_root, name, work_dir, data_root, max_iters=2):
    """The real config, shrunk for a seconds-long CPU run (64x64 crops,
    batch 2, a few iterations, no dataloader workers) through the same
    config system users override with --cfg-options."""
    import uuid

    from mmengine.config import Config

    from msfam_mm.utils import disable_config_formatting, set_data_root

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
            node['crop_size'] = TRAIN_CROP
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
                    1, dict(type='SyncedRandomCrop', crop_size=TRAIN_CROP,
                            keys=keys))
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.checkpoint.by_epoch = False
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor = dict(by_epoch=False)
    return cfg


@pytest.fixture(scope='session')
def fast_cfg():
    """``fast_cfg(repo_root, name, work_dir, data_root, max_iters=2)``:
    ``configs/<name>.py`` shrunk for a seconds-long CPU run."""
    return _fast_cfg


@pytest.fixture(scope='session')
def stage2_cfg():
    """``stage2_cfg(repo_root, work, data_root, stage1_ckpt,
    classifier_ckpt, max_iters=2)``: the shrunk stage-2 config starting
    from the two checkpoints."""
    def build(repo_root, work, data_root, stage1_ckpt, classifier_ckpt,
              max_iters=2):
        cfg = _fast_cfg(repo_root, 'msfam_stage2', work, data_root,
                        max_iters)
        cfg.model.stage1_checkpoint = str(stage1_ckpt)
        cfg.model.classifier_checkpoint = str(
            classifier_ckpt.parent / 'best_constraint_accuracy_*.pth')
        return cfg
    return build


def _train_shrunk(repo_root, name, work, data_root):
    """Train a shrunk config (``_fast_cfg``) with mmengine's Runner, leaving
    the default scopes as they were (a session fixture runs inside some
    test's scope)."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    saved = DefaultScope._instance_dict.copy()
    runner = Runner.from_cfg(_fast_cfg(repo_root, name, work, data_root))
    runner.train()
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)
    return runner


@pytest.fixture(scope='session')
def stage1_ckpt(repo_root, data_root, tmp_path_factory):
    """A 2-iteration run of configs/msfam_stage1.py on the real pairs."""
    work = tmp_path_factory.mktemp('stage1')
    runner = _train_shrunk(repo_root, 'msfam_stage1', work, data_root)
    assert runner.iter == 2
    loss = runner.message_hub.get_scalar('train/loss_rec').current()
    assert torch.isfinite(torch.tensor(loss))
    return work / 'iter_2.pth'


@pytest.fixture(scope='session')
def classifier_ckpt(repo_root, data_root, tmp_path_factory):
    """The best checkpoint of a 2-iteration run of
    configs/msfam_constraint.py on the real images."""
    work = tmp_path_factory.mktemp('constraint')
    runner = _train_shrunk(repo_root, 'msfam_constraint', work, data_root)
    assert runner.iter == 2
    acc = runner.message_hub.get_scalar('val/constraint/accuracy').current()
    assert 0. <= acc <= 100.
    best = [f for f in os.listdir(work) if f.startswith('best_constraint')]
    assert len(best) == 1
    return work / best[0]
