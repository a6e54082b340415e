"""KAIST detection path: GFLV2 configs, optional ImageNet init, CPU training
on the real kaist_sample frames and tools/compare_detection.py end to end
(paper Section 4.4, Table 7)."""
import csv
import json
import os.path as osp

import pytest
import torch

pytest.importorskip('mmdet')
from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from msfam_mm.detection import (  # noqa: E402
    OptionalPretrainedInit, resolve_checkpoint)

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(__file__)), 'configs', 'gflv2')
BASE = osp.join(CONFIG_DIR, 'gflv2_r50_fpn_24e_kaist_base.py')
TOY = osp.join(CONFIG_DIR, 'gflv2_r18_fpn_kaist_toy.py')
SAMPLE_SET = 'imageSets/sample-all.txt'


@pytest.fixture(autouse=True)
def mmdet_scope():
    # configs use default_scope='mmdet'; outside a Runner set it explicitly
    init_default_scope('mmdet')


# ---------------------------------------------------------------- configs
# config -> (modality, image folder): the fused row reads the output root of
# tools/fuse_kaist.py (README's command), never a folder inside KAIST
TYPE_CONFIGS = {
    'visible': ('visible', 'images'),
    'lwir': ('lwir', 'images'),
    'fused_msfam': ('fused', osp.join(CONFIG_DIR, '..', '..', 'work_dirs',
                                      'kaist_msfam', 'images')),
}


@pytest.mark.parametrize('name', sorted(TYPE_CONFIGS))
def test_type_configs_differ_only_in_images(name):
    modality, img_subdir = TYPE_CONFIGS[name]
    base = Config.fromfile(BASE)
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, f'gflv2_r50_fpn_24e_kaist_{name}.py'))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[key].dataset
        assert dataset.modality == modality
        assert osp.normpath(dataset.get('img_subdir', 'images')) == \
            osp.normpath(img_subdir)  # 'images': KAISTDataset's default
        assert dataset.type == 'KAISTDataset'
        base[key].dataset.modality = modality
        if 'img_subdir' in dataset:
            base[key].dataset.img_subdir = dataset.img_subdir
    for c in (cfg, base):
        c.pop('modality')
        c.pop('fused_images', None)
    assert cfg.to_dict() == base.to_dict()


def test_base_config_matches_paper_setup():
    cfg = Config.fromfile(BASE)
    assert cfg.model.bbox_head.type == 'GFLV2Head'
    assert cfg.model.backbone.depth == 50
    assert cfg.train_cfg.max_epochs == 24  # Section 4.4
    assert cfg.train_dataloader.dataset.image_set == \
        'imageSets/train-all-02.txt'
    assert cfg.test_dataloader.dataset.image_set == \
        'imageSets/test-all-20.txt'
    assert {e['type'] for e in cfg.test_evaluator} == {
        'CocoMetric', 'KAISTMissRateMetric'}
    assert cfg.model.train_cfg.assigner.ignore_iof_thr == 0.5
    init = cfg.model.backbone.init_cfg[-1]
    assert init == dict(type='PretrainedIfAvailable',
                        checkpoint='torchvision://resnet50',
                        if_missing='error')


def test_shorter_run_keeps_the_decay_points(tmp_path, load_tool):
    """`--cfg-options train_cfg.max_epochs=12` gives MMDetection's 1x decay
    (8, 11), not 24-epoch milestones that a 12-epoch run never reaches; a
    schedule set on the command line is left as given."""
    tool = load_tool('compare_detection')

    def schedule(options):
        cfg = tool.type_config(BASE, str(tmp_path), tool.ImageType(
            'lwir', 'lwir'), str(tmp_path), 0, None, None, options)
        step = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
        return cfg.train_cfg.max_epochs, step[0].milestones, step[0].end

    assert schedule(None) == (24, [16, 22], 24)
    assert schedule({'train_cfg.max_epochs': 12}) == (12, [8, 11], 12)
    assert schedule({'train_cfg.max_epochs': 12,
                     'param_scheduler.1.milestones': [9, 10]}) == \
        (12, [9, 10], 24)


def test_r50_gflv2_builds_and_runs_640x512():
    cfg = Config.fromfile(BASE)
    model = MODELS.build(cfg.model)
    model.eval()
    with torch.no_grad():
        scores, boxes = model._forward(torch.rand(1, 3, 512, 640))
    assert [s.shape[-2:] for s in scores] == [(64, 80), (32, 40), (16, 20),
                                             (8, 10), (4, 5)]
    assert scores[0].shape[1] == 1 and boxes[0].shape[1] == 68


# ------------------------------------------------ optional ImageNet weights
def small_resnet():
    return MODELS.build(
        dict(type='ResNet', depth=18, frozen_stages=1, norm_eval=True,
             init_cfg=[dict(type='Kaiming', layer='Conv2d')]))


def test_resolve_checkpoint_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path))
    path, reason = resolve_checkpoint('torchvision://resnet50')
    assert path is None
    assert 'resnet50-0676ba61.pth' in reason
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        resolve_checkpoint(str(tmp_path / 'nope.pth'))


def test_pretrained_loaded_from_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path))
    torch.manual_seed(1)
    source = small_resnet()
    source.init_weights()
    cache = tmp_path / 'checkpoints'
    cache.mkdir()
    state = {k: v for k, v in source.state_dict().items()}
    state['fc.weight'] = torch.zeros(10, 512)  # torchvision extra key
    torch.save(state, cache / 'resnet18-f37072fd.pth')

    target = small_resnet()
    init = OptionalPretrainedInit(checkpoint='torchvision://resnet18')
    init(target)
    assert init.loaded_from == str(cache / 'resnet18-f37072fd.pth')
    for (name, a), b in zip(source.state_dict().items(),
                            target.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    assert target.frozen_stages == 1 and target.norm_eval  # untouched


def test_missing_pretrained_trains_from_scratch(tmp_path, monkeypatch,
                                                capsys):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path))
    model = MODELS.build(
        dict(type='ResNet', depth=18, frozen_stages=1, norm_eval=True,
             init_cfg=[
                 dict(type='Kaiming', layer='Conv2d'),
                 dict(type='PretrainedIfAvailable',
                      checkpoint='torchvision://resnet18')
             ]))
    assert not model.conv1.weight.requires_grad  # frozen stem
    before = model.conv1.weight.detach().clone()
    model.init_weights()
    assert not torch.equal(before, model.conv1.weight)  # Kaiming ran
    assert model.frozen_stages == -1 and not model.norm_eval
    assert all(p.requires_grad for p in model.parameters())
    model.train()
    assert model.bn1.training  # BN statistics update from scratch


# ------------------------------------------------------ compare_detection
def test_parse_types(load_tool):
    tool = load_tool('compare_detection')
    types = tool.parse_types('visible, lwir,msfam=/out/k:fused,x=/r')
    assert [t.label for t in types] == ['visible', 'lwir', 'msfam', 'x']
    assert types[0].images_root is None and types[0].folder == 'visible'
    assert types[2].folder == 'fused'
    assert types[2].images_root == osp.join('/out/k', 'images')
    assert types[3].folder == 'x'
    for bad in ('', 'a/b', 'visible,visible', '../x'):
        with pytest.raises(ValueError):
            tool.parse_types(bad)


def test_missing_type_folder_names_path(kaist_sample, tmp_path, load_tool):
    tool = load_tool('compare_detection')
    with pytest.raises(FileNotFoundError,
                       match=r'images/set06/V001/fused_msfam'):
        tool.main([
            '--kaist', str(kaist_sample), '--types', 'visible,fused_msfam',
            '--config', TOY, '--work-dir', str(tmp_path),
            '--train-image-set', SAMPLE_SET, '--test-image-set', SAMPLE_SET
        ])
    assert not (tmp_path / 'comparison.md').exists()


def test_markdown_marks_best_values(load_tool):
    tool = load_tool('compare_detection')
    rows = [
        dict(type='visible', epochs=24, AP=0.3, AP50=0.7, AP_S=0.1,
             AP_M=0.3, AP_L=0.5, **{'MR-2_all': 40.0, 'MR-2_day': 35.0,
                                   'MR-2_night': 50.0}, images_per_s=10.0),
        dict(type='lwir', epochs=24, AP=0.35, AP50=0.75, AP_S=-1.0,
             AP_M=0.2, AP_L=None, **{'MR-2_all': 30.0, 'MR-2_day': 36.0,
                                    'MR-2_night': float('nan')},
             images_per_s=9.0),
    ]
    md = tool.format_markdown(rows)
    visible, lwir = [ln for ln in md.splitlines()
                     if ln.startswith('| visible') or ln.startswith('| lwir')]
    assert '**0.350**' in lwir and '**0.750**' in lwir  # AP: higher better
    assert '**30.0**' in lwir and '**35.0**' in visible  # MR: lower better
    assert '| 50.0 |' in visible  # single valid value: nothing to compare
    assert '-1.000' in lwir and lwir.count('n/a') == 2  # AP_L, MR night
    assert '**10.0**' in visible
    table = list(csv.DictReader(tool.format_csv(rows).splitlines()))
    assert table[1]['type'] == 'lwir' and table[1]['AP_L'] == ''
    assert float(table[0]['MR-2_all']) == 40.0


# ------------------------------------------- CPU training on real frames
@pytest.mark.slow
def test_gflv2_learns_on_kaist_sample(kaist_sample, tmp_path, load_tool):
    """Overfit the 13 real KAIST thermal frames: the loss falls and AP50 on
    the same frames becomes positive (a real learning check of the head,
    its losses, the dataset and both metrics)."""
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    tool = load_tool('compare_detection')
    cfg = tool.type_config(TOY, str(kaist_sample), tool.ImageType(
        'lwir', 'lwir'), str(tmp_path), seed=0, train_image_set=SAMPLE_SET,
                           test_image_set=SAMPLE_SET, cfg_options=None)
    losses = []

    class LossRecorder(Hook):

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            losses.append(float(outputs['loss']))

    runner = Runner.from_cfg(cfg)
    runner.register_hook(LossRecorder())
    runner.train()
    metrics = runner.test()
    k = max(3, len(losses) // 5)
    first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
    assert last < 0.9 * first, (first, last)
    assert metrics['coco/bbox_mAP_50'] > 0, metrics
    assert 0 <= metrics['kaist/MR-2_all'] <= 100


@pytest.mark.slow
def test_compare_detection_end_to_end(kaist_sample, tmp_path, load_tool):
    """tools/compare_detection.py on the real sample, two types, tiny
    schedule: tables are written with one row per type and every column."""
    tool = load_tool('compare_detection')
    argv = [
        '--kaist', str(kaist_sample), '--types', 'visible,lwir', '--config',
        TOY, '--work-dir', str(tmp_path), '--train-image-set', SAMPLE_SET,
        '--test-image-set', SAMPLE_SET, '--cfg-options',
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=13'
    ]
    rows = tool.main(argv)
    assert [r['type'] for r in rows] == ['visible', 'lwir']
    table = list(csv.DictReader(open(tmp_path / 'comparison.csv')))
    assert [r['type'] for r in table] == ['visible', 'lwir']
    for r in table:
        assert r['epochs'] == '1'
        assert float(r['images_per_s']) > 0
        for key in ('MR-2_all', 'MR-2_day', 'MR-2_night'):
            assert 0 <= float(r[key]) <= 100  # day and night frames exist
    md = (tmp_path / 'comparison.md').read_text()
    assert md.count('\n| visible |') == 1 and md.count('\n| lwir |') == 1
    for t in ('visible', 'lwir'):
        saved = json.loads((tmp_path / t / 'metrics.json').read_text())
        assert saved['test_images'] == 13
        assert 'kaist/MR-2_all' in saved['metrics']
    # a second run with --skip-existing reuses both results unchanged
    before = (tmp_path / 'comparison.csv').read_text()
    tool.main(argv + ['--skip-existing'])
    assert (tmp_path / 'comparison.csv').read_text() == before


def test_missing_image_type_fails_before_training(tmp_path, load_tool):
    """Every video of the lists needs the type's folder; the lists take the
    same id forms as KAISTDataset (here the flattened one) and a bad id is
    named with its file and line."""
    tool = load_tool('compare_detection')
    (tmp_path / 'imageSets').mkdir()
    (tmp_path / 'imageSets' / 'a.txt').write_text(
        'set06_V000_I00019\nset07/V001/I00100\n')
    for video in ('set06/V000', 'set07/V001'):
        (tmp_path / 'images' / video / 'lwir').mkdir(parents=True)
    (tmp_path / 'images' / 'set06' / 'V000' / 'visible').mkdir()
    types = tool.parse_types('lwir,visible')
    tool.check_image_types(str(tmp_path), ['imageSets/a.txt'], types[:1])
    with pytest.raises(FileNotFoundError,
                       match=r"'visible' is missing: .*set07/V001/visible"):
        tool.check_image_types(str(tmp_path), ['imageSets/a.txt'], types)
    (tmp_path / 'imageSets' / 'b.txt').write_text('set06/V000/I00019\nV001\n')
    with pytest.raises(ValueError, match=r'b\.txt, line 2'):
        tool.check_image_types(str(tmp_path), ['imageSets/b.txt'], types[:1])
