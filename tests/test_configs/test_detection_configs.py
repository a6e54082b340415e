"""The GFLV2 KAIST configs of configs/gflv2 (paper Section 4.4, Table 7): the
image types differ only in their images, the base config is the paper's
setup and builds a ResNet-50 GFLV2 that runs on 640x512 frames."""
import os.path as osp

import pytest
import torch

pytest.importorskip('mmdet')
from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import Config  # noqa: E402

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs',
                      'gflv2')
BASE = osp.join(CONFIG_DIR, 'gflv2_r50_fpn_24e_kaist_base.py')


# configs use default_scope='mmdet'; outside a Runner set it explicitly
pytestmark = pytest.mark.usefixtures('mmdet_scope')


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


def test_r50_gflv2_builds_and_runs_640x512():
    cfg = Config.fromfile(BASE)
    model = MODELS.build(cfg.model)
    model.eval()
    with torch.no_grad():
        scores, boxes = model._forward(torch.rand(1, 3, 512, 640))
    assert [s.shape[-2:] for s in scores] == [(64, 80), (32, 40), (16, 20),
                                             (8, 10), (4, 5)]
    assert scores[0].shape[1] == 1 and boxes[0].shape[1] == 68
