"""configs/cross/: the cross-dataset protocol trains on no TNO image and
selects on RoadScene validation pairs that no training run fits on."""
import pytest
from mmengine.config import Config

from mmengine.registry import DefaultScope

from msfam_mm.apis.training_plan import PROTOCOL_CONFIGS
from msfam_mm.registry import DATASETS
from msfam_mm.utils import set_data_root


def _files(dataset):
    """Every image path a dataset reads (ConcatDataset: of each part)."""
    parts = getattr(dataset, 'datasets', [dataset])
    files = set()
    for part in parts:
        for i in range(len(part)):
            info = part.get_data_info(i)
            files.update(v for k, v in info.items()
                         if k.endswith('path') and isinstance(v, str))
    return files


@pytest.fixture(scope='module')
def cross(repo_root, tno42):
    """{training: (config, training files, validation files)} with the
    shared data folder (it holds tno42/, roadscene221/, kaist_sample/) as
    the data root."""
    out = {}
    with DefaultScope.overwrite_default_scope('msfam_mm'):
        for name, path in PROTOCOL_CONFIGS['cross'].items():
            cfg = Config.fromfile(str(repo_root / path))
            set_data_root(cfg, str(tno42.parent))
            train = _files(DATASETS.build(cfg.train_dataloader.dataset))
            val = set()
            if cfg.get('val_dataloader'):
                val = _files(DATASETS.build(cfg.val_dataloader.dataset))
            out[name] = (cfg, train, val)
    return out


def test_no_tno_image_in_any_training_or_selection(cross):
    for name, (_, train, val) in cross.items():
        assert train, name
        assert not [f for f in train | val if '/tno42' in f], name


def test_the_data_each_training_reads(cross):
    def folders(files):
        return {f.split('/')[-3] if 'kaist_sample' not in f else
                'kaist_sample' for f in files}

    _, stage1, _ = cross['stage1']
    # 221 RoadScene pairs and 13 KAIST frames, both bands each
    assert len(stage1) == 2 * 221 + 2 * 13
    assert folders(stage1) == {'roadscene221', 'kaist_sample'}
    cfg, stage2, stage2_val = cross['stage2']
    assert len(stage2) == 2 * 199 and len(stage2_val) == 2 * 22
    assert not stage2 & stage2_val
    _, cls, cls_val = cross['classifier']
    assert cls == stage2 and cls_val == stage2_val  # the same split
    types = [d.type for d in
             cross['classifier'][0].train_dataloader.dataset.datasets]
    assert 'PublishedFusionDataset' not in types


def test_stage2_is_the_full_eq2_selected_on_both_sources(cross):
    cfg = cross['stage2'][0]
    loss = cfg.model.loss
    assert (loss.l1_weight, loss.constraint_weight,
            loss.pull_push_weight) == (1.0, 0.84, 2.0)  # Eq. 2
    assert cfg.default_hooks.checkpoint.save_best == 'fusion/balanced'
    assert cfg.val_evaluator[0]['balanced']
    assert cfg.train_cfg.max_iters == 20 * 50  # 20 epochs of 199 pairs
    for name in ('classifier', 'stage1', 'stage2'):
        hooks = [h['type'] for h in cross[name][0].custom_hooks]
        assert 'CompileHook' in hooks, name


def test_stage2_validation_metric_builds_as_the_runner_builds_it(cross):
    """mmengine reads a dict with a 'metrics' key as an Evaluator config;
    FusionMetric's own argument has that name, so the config lists it."""
    import copy

    from mmengine.runner import Runner
    cfg = cross['stage2'][0]
    with DefaultScope.overwrite_default_scope('msfam_mm'):
        evaluator = Runner.build_evaluator(  # uses no runner state
            None, copy.deepcopy(cfg.val_evaluator))
    (metric, ) = evaluator.metrics
    assert type(metric).__name__ == 'FusionMetric'
    assert metric.balanced and metric.per_source
