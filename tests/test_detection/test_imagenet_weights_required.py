"""The paper's GFLV2 configs need the ImageNet ResNet-50 (Section 4.4):
without the file they stop before training and name it; --from-scratch
(tools/train.py) is the explicit way to train the backbone from scratch.
The toy config trains from scratch by design and needs neither."""
import os.path as osp

import pytest
import torch

pytest.importorskip('mmdet')
from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from msfam_mm.detection import (  # noqa: E402
    OptionalPretrainedInit, allow_training_from_scratch)

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')
BASE = osp.join(CONFIGS, 'gflv2', 'gflv2_r50_fpn_24e_kaist_base.py')
TOY = osp.join(CONFIGS, 'gflv2', 'gflv2_r18_fpn_kaist_toy.py')
PAPER = [osp.join(CONFIGS, 'gflv2', f'gflv2_r50_fpn_24e_kaist_{t}.py')
         for t in ('visible', 'lwir', 'fused_msfam')]
# torchvision's IMAGENET1K_V1 ResNet-18/50 files (mmengine's URL table)
R18_FILE = 'resnet18-f37072fd.pth'
R50_FILE = 'resnet50-0676ba61.pth'


@pytest.fixture(autouse=True)
def empty_hub(tmp_path, monkeypatch):
    init_default_scope('mmdet')
    hub = tmp_path / 'hub'
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(hub))
    return hub


def pretrained_inits(cfg):
    return [i for i in cfg.model.backbone.init_cfg
            if i['type'] == 'PretrainedIfAvailable']


@pytest.mark.parametrize('config', [BASE] + PAPER)
def test_paper_configs_require_the_weights(config):
    inits = pretrained_inits(Config.fromfile(config))
    assert inits == [dict(type='PretrainedIfAvailable',
                          checkpoint='torchvision://resnet50',
                          if_missing='error')]


def test_toy_config_trains_from_scratch_by_design():
    assert pretrained_inits(Config.fromfile(TOY)) == []


def resnet18(**init):
    return MODELS.build(
        dict(type='ResNet', depth=18, frozen_stages=1, norm_eval=True,
             init_cfg=[dict(type='Kaiming', layer='Conv2d'),
                       dict(type='PretrainedIfAvailable',
                            checkpoint='torchvision://resnet18', **init)]))


def test_missing_weights_are_an_error_naming_the_file(empty_hub):
    model = resnet18(if_missing='error')
    with pytest.raises(FileNotFoundError) as err:
        model.init_weights()
    message = str(err.value)
    expected = osp.join(str(empty_hub), 'checkpoints', R18_FILE)
    assert expected in message
    assert f'https://download.pytorch.org/models/{R18_FILE}' in message
    assert '--from-scratch' in message
    assert model.frozen_stages == 1  # nothing was switched to scratch


def test_present_weights_load_whatever_if_missing_says(empty_hub):
    torch.manual_seed(1)
    source = resnet18(if_missing='scratch')
    source.init_weights()
    (empty_hub / 'checkpoints').mkdir(parents=True)
    torch.save(source.state_dict(), empty_hub / 'checkpoints' / R18_FILE)
    for if_missing in ('error', 'scratch'):
        target = resnet18(if_missing=if_missing)
        target.init_weights()
        torch.testing.assert_close(target.conv1.weight, source.conv1.weight)
        assert target.frozen_stages == 1 and target.norm_eval


def test_if_missing_value_is_checked():
    with pytest.raises(ValueError, match="if_missing must be one of"):
        OptionalPretrainedInit('torchvision://resnet18', if_missing='warn')


def test_allow_training_from_scratch_sets_every_optional_init():
    cfg = Config.fromfile(BASE)
    assert allow_training_from_scratch(cfg.model) == 1
    assert pretrained_inits(cfg)[0]['if_missing'] == 'scratch'
    assert allow_training_from_scratch(Config.fromfile(TOY).model) == 0


def train_args(toy_kaist, tmp_path, *extra):
    sample = 'imageSets/sample-all.txt'
    return [BASE, '--work-dir', str(tmp_path / 'work'),
            '--data-root', str(toy_kaist), *extra, '--cfg-options',
            'train_cfg.max_epochs=1', 'train_dataloader.batch_size=1',
            f'train_dataloader.dataset.image_set={sample}',
            f'val_dataloader.dataset.image_set={sample}',
            f'test_dataloader.dataset.image_set={sample}',
            'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
            'test_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'val_dataloader.persistent_workers=False',
            'test_dataloader.persistent_workers=False']


def test_train_refuses_the_paper_config_without_weights(
        toy_kaist, tmp_path, empty_hub, load_tool):
    train = load_tool('train')
    with pytest.raises(FileNotFoundError,
                       match=osp.join('checkpoints', R50_FILE)):
        train.main(train_args(toy_kaist, tmp_path))
    assert not list((tmp_path / 'work').rglob('*.pth'))  # no iteration ran


def test_from_scratch_flag_maps_to_the_config(toy_kaist, tmp_path,
                                              load_tool):
    train = load_tool('train')
    args = train.parse_args(
        train_args(toy_kaist, tmp_path, '--from-scratch'))
    cfg = train.build_cfg(args)
    assert pretrained_inits(cfg)[0]['if_missing'] == 'scratch'
    fusion = osp.join(CONFIGS, 'msfam_stage1.py')
    with pytest.raises(SystemExit, match='loads no optional pretrained'):
        train.build_cfg(train.parse_args([fusion, '--from-scratch']))


def compare_args(toy_kaist, tmp_path, config, *extra):
    sample = 'imageSets/sample-all.txt'
    return ['--kaist', str(toy_kaist), '--types', 'lwir', '--config',
            config, '--work-dir', str(tmp_path / 'cmp'),
            '--train-image-set', sample, '--test-image-set', sample, *extra,
            '--cfg-options', 'train_cfg.max_epochs=1',
            'train_dataloader.batch_size=1',
            'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
            'test_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'val_dataloader.persistent_workers=False',
            'test_dataloader.persistent_workers=False']


def test_compare_detection_refuses_the_paper_config_without_weights(
        toy_kaist, tmp_path, load_tool):
    tool = load_tool('compare_detection')
    with pytest.raises(FileNotFoundError,
                       match=osp.join('checkpoints', R50_FILE)):
        tool.main(compare_args(toy_kaist, tmp_path, BASE))
    assert not list((tmp_path / 'cmp').rglob('*.pth'))
    assert not (tmp_path / 'cmp' / 'comparison.md').exists()


def test_compare_detection_from_scratch_needs_an_optional_init(
        toy_kaist, tmp_path, load_tool):
    tool = load_tool('compare_detection')
    with pytest.raises(ValueError, match='loads no optional pretrained'):
        tool.main(compare_args(toy_kaist, tmp_path, TOY, '--from-scratch'))
    assert not (tmp_path / 'cmp').exists()
