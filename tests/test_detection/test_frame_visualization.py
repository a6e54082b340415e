"""Pictures of detections on KAIST frames (msfam_mm.detection.
frame_visualization): named by frame, ground truth drawn on the left half,
a caption band on top."""
import os
import os.path as osp

import cv2
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from msfam_mm.datasets.kaist.toy_kaist import make_toy_kaist
from msfam_mm.detection.frame_visualization import (CAPTION_HEIGHT,
                                                    draw_detection_frames,
                                                    spread_indices)

TOY = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'gflv2',
               'gflv2_r18_fpn_kaist_toy.py')


def _toy_lwir_test_set(tmp_path):
    """The toy GFLV2 config and its test set on a generated toy KAIST
    (thermal frames)."""
    import msfam_mm.detection  # noqa: F401  (registers the KAIST classes)
    from mmdet.registry import DATASETS
    init_default_scope('mmdet')
    root = tmp_path / 'toy'
    make_toy_kaist(str(root), num_frames=8, seed=0)
    cfg = Config.fromfile(TOY)
    data = cfg.test_dataloader.dataset
    data.update(data_root=str(root), modality='lwir')
    return cfg, DATASETS.build(data)


def test_spread_indices():
    assert spread_indices(10, 4) == [0, 3, 6, 9]
    assert spread_indices(3, 5) == [0, 1, 2]
    assert spread_indices(7, 1) == [0]
    assert spread_indices(0, 4) == [] and spread_indices(5, 0) == []


def test_pictures_show_ground_truth_left(tmp_path):
    cfg, dataset = _toy_lwir_test_set(tmp_path)
    from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    paths = draw_detection_frames(model, dataset, str(tmp_path / 'out'),
                                  label='lwir', num_frames=2)
    assert model.training  # mode restored
    infos = [dataset.get_data_info(i) for i in spread_indices(len(dataset),
                                                              2)]
    assert [osp.basename(p) for p in paths] == [
        info['frame_id'].replace('/', '_') + '.png' for info in infos]
    for path, info in zip(paths, infos):
        img = cv2.imread(path)[..., ::-1]  # RGB
        h, w = info['height'], info['width']
        assert img.shape == (CAPTION_HEIGHT + h, 2 * w, 3)
        band = img[:CAPTION_HEIGHT]
        assert (band == 255).all(axis=2).mean() > 0.6  # white, some text
        assert (band.min(axis=2) < 100).any()
        assert (img[CAPTION_HEIGHT:, w - 1:w + 1] == 255).all()  # separator
        # the left edge of each ground-truth person box is drawn in the
        # class colour (KAISTDataset palette: 220, 20, 60)
        boxes = [i['bbox'] for i in info['instances']
                 if not i['ignore_flag']]
        assert boxes
        for x1, y1, x2, y2 in boxes:
            column = img[CAPTION_HEIGHT + int(y1) + 2:
                         CAPTION_HEIGHT + int(y2) - 2, int(round(x1))]
            red = (column[:, 0] > 150) & (column[:, 1] < 90) & (
                column[:, 2] < 110)
            assert red.mean() > 0.8, (x1, y1, x2, y2)


def test_missing_image_is_named(tmp_path):
    cfg, dataset = _toy_lwir_test_set(tmp_path)
    from mmdet.registry import MODELS
    first = dataset.get_data_info(0)['img_path']
    assert osp.isfile(first)
    os.remove(first)
    with pytest.raises(Exception, match=osp.basename(first)):
        draw_detection_frames(MODELS.build(cfg.model), dataset,
                              str(tmp_path / 'out'), label='lwir',
                              num_frames=1)
