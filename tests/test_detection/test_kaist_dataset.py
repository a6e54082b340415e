"""KAISTDataset: the official layout and the reasonable filter on the real
KAIST sample; errors that name the problem, ignore regions in the detection
pipeline and agreement with MMDetection's CocoDataset on kaist2coco's json
on the toy KAIST (tests/conftest.py)."""
import json
import os.path as osp

import numpy as np
import pytest

from msfam_mm.datasets.kaist import (frame_to_img_id, kaist_to_coco,
                                     read_image_set)
from msfam_mm.detection import KAISTDataset


# pipelines are built in the mmdet scope
pytestmark = pytest.mark.usefixtures('mmdet_scope')


# ---------------------------------------------------------------- dataset
def _sample_ds(root, **kwargs):
    kwargs.setdefault('test_mode', True)
    return KAISTDataset(data_root=str(root),
                        image_set='imageSets/sample-all.txt', **kwargs)


def test_dataset_reads_official_layout(kaist_sample):
    ds = _sample_ds(kaist_sample, modality='lwir')
    assert len(ds) == 13 and ds.metainfo['classes'] == ('person', )
    exts = set()
    boxes = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert osp.isfile(info['img_path'])
        assert osp.basename(osp.dirname(info['img_path'])) == 'lwir'
        exts.add(osp.splitext(info['img_path'])[1])
        assert info['img_id'] == frame_to_img_id(info['frame_id'])
        assert (info['width'], info['height']) == (640, 512)
        for inst in info['instances']:
            x1, y1, x2, y2 = inst['bbox']
            assert x2 > x1 and y2 > y1 and inst['bbox_label'] == 0
            assert inst['ignore_flag'] == int(inst['kaist_label'] != 'person')
            boxes += 1
    assert exts == {'.jpg', '.png'}  # resolved per frame
    assert boxes == 79


def test_dataset_reasonable_filter_and_empty_gt(kaist_sample):
    full = _sample_ds(kaist_sample)
    reasonable = _sample_ds(kaist_sample, reasonable_filter=dict())
    n_pos = [sum(i['ignore_flag'] == 0 for i in ds.get_data_info(k)[
        'instances']) for ds in (full, reasonable) for k in range(len(ds))]
    assert sum(n_pos[13:]) < sum(n_pos[:13])
    info = reasonable.get_data_info(4)  # set08/V001/I02579: 19 boxes
    for inst in info['instances']:
        x1, y1, x2, y2 = inst['bbox']
        bad = (inst['kaist_label'] != 'person' or y2 - y1 < 55
               or inst['occlusion'] > 1 or x1 < 5 or x2 > 635 or y1 < 5
               or y2 > 507)
        assert inst['ignore_flag'] == int(bad)
    train = _sample_ds(kaist_sample, test_mode=False,
                       reasonable_filter=dict(),
                       filter_cfg=dict(filter_empty_gt=True))
    assert len(train) == sum(1 for k in range(13) if n_pos[13 + k] > 0)
    with pytest.raises(ValueError, match='unknown reasonable_filter keys'):
        _sample_ds(kaist_sample, reasonable_filter=dict(min_hight=50))


def test_dataset_errors_name_the_problem(toy_kaist, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'fused_msfam/I\d{5}'):
        _sample_ds(toy_kaist, modality='fused_msfam')
    with pytest.raises(ValueError, match='one folder name'):
        _sample_ds(toy_kaist, modality='../lwir')
    # a malformed annotation line names its file
    root = tmp_path / 'kaist'
    (root / 'images/set06/V000/visible').mkdir(parents=True)
    (root / 'annotations/set06/V000').mkdir(parents=True)
    (root / 'imageSets').mkdir()
    import cv2
    cv2.imwrite(str(root / 'images/set06/V000/visible/I00019.png'),
                np.zeros((8, 10, 3), np.uint8))
    (root / 'annotations/set06/V000/I00019.txt').write_text(
        '% bbGt version=3\nperson 1 2 x 4 0 0 0 0 0 0 0\n')
    (root / 'imageSets/l.txt').write_text('set06/V000/I00019\n')
    with pytest.raises(ValueError, match=r'I00019\.txt, line 2'):
        KAISTDataset(data_root=str(root), image_set='imageSets/l.txt')


def test_dataset_pipeline_moves_ignore_to_ignored_instances(toy_kaist):
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackDetInputs')]
    ds = _sample_ds(toy_kaist, modality='lwir', pipeline=pipeline)
    # the first frame with an ignore region ('people') among its boxes
    k = next(k for k in range(len(ds)) if any(
        i['ignore_flag'] for i in ds.get_data_info(k)['instances']))
    out = ds[k]
    info = ds.get_data_info(k)
    n_ign = sum(i['ignore_flag'] for i in info['instances'])
    assert 0 < n_ign < len(info['instances'])
    assert out['inputs'].shape == (3, 512, 640)  # grey lwir -> 3 channels
    sample = out['data_samples']
    assert len(sample.ignored_instances) == n_ign
    assert len(sample.gt_instances) == len(info['instances']) - n_ign
    assert sample.img_id == info['img_id']


def test_kaist2coco_json_loads_in_mmdet_coco_dataset(toy_kaist, tmp_path):
    from mmdet.datasets import CocoDataset
    frames = read_image_set(str(toy_kaist / 'imageSets' /
                                'sample-all.txt'))
    coco = kaist_to_coco(str(toy_kaist), frames, modality='lwir',
                         require_images=True)
    path = tmp_path / 'sample.json'
    path.write_text(json.dumps(coco))
    ds = CocoDataset(data_root=str(toy_kaist), ann_file=str(path),
                     data_prefix=dict(img=''), metainfo=dict(
                         classes=('person', )), test_mode=True)
    ours = KAISTDataset(data_root=str(toy_kaist),
                        image_set='imageSets/sample-all.txt',
                        modality='lwir', test_mode=True)
    theirs = {ds.get_data_info(i)['img_id']: ds.get_data_info(i)
              for i in range(len(ds))}
    for i in range(len(ours)):
        a = ours.get_data_info(i)
        b = theirs[a['img_id']]
        assert osp.normpath(b['img_path']) == osp.normpath(a['img_path'])
        assert [x['ignore_flag'] for x in b['instances']] == \
            [x['ignore_flag'] for x in a['instances']]
        np.testing.assert_allclose([x['bbox'] for x in b['instances']],
                                   [x['bbox'] for x in a['instances']])
