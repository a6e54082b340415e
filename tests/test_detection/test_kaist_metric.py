"""KAISTMissRateMetric: registered in MMDetection, scores KAIST frames, and
takes its ground truth from the layout or the data samples."""
import json

import numpy as np
import pytest
import torch
from mmdet.registry import METRICS
from mmengine.structures import InstanceData

from msfam_mm.datasets.kaist import kaist_to_coco, read_image_set
from msfam_mm.detection import KAISTMissRateMetric
from msfam_mm.evaluation.kaist import load_gt_from_layout


# pipelines are built in the mmdet scope
pytestmark = pytest.mark.usefixtures('mmdet_scope')


def _data_samples(gt_frames, boxes_fn):
    samples = []
    for img_id, frame in gt_frames.items():
        boxes = boxes_fn(frame)
        b = np.asarray([[x, y, x + w, y + h] for x, y, w, h in boxes],
                       np.float32).reshape(-1, 4)
        samples.append(dict(
            img_id=img_id, ori_shape=(frame.img_size[1], frame.img_size[0]),
            pred_instances=dict(bboxes=torch.from_numpy(b),
                                scores=torch.linspace(1, 0.5, len(b)),
                                labels=torch.zeros(len(b),
                                                   dtype=torch.long))))
    return samples


def test_metric_registered_and_scores_kaist_frames(toy_kaist, tmp_path):
    frames = read_image_set(str(toy_kaist / 'imageSets' /
                                'sample-all.txt'))
    gt = load_gt_from_layout(str(toy_kaist), frames)
    metric = METRICS.build(dict(type='KAISTMissRateMetric',
                                data_root=str(toy_kaist)))
    assert isinstance(metric, KAISTMissRateMetric)
    all_persons = _data_samples(gt, lambda f: [
        (o.x, o.y, o.w, o.h) for o in f.objects if o.label == 'person'])
    metric.process(None, all_persons)
    res = metric.evaluate(len(all_persons))
    assert set(res) == {'kaist/MR-2_all', 'kaist/MR-2_day',
                        'kaist/MR-2_night'}
    assert all(v < 1e-6 for v in res.values())
    metric.process(None, _data_samples(gt, lambda f: []))
    assert all(v == 100.0 for v in metric.evaluate(13).values())
    # half of the frames' detections removed: between the two, and the
    # json ground truth gives exactly the same numbers as the layout
    half = _data_samples(gt, lambda f: [
        (o.x, o.y, o.w, o.h) for o in f.objects[::2]])
    metric.process(None, half)
    from_layout = metric.evaluate(13)
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(kaist_to_coco(str(toy_kaist), frames)))
    by_json = KAISTMissRateMetric(ann_file=str(path))
    by_json.process(None, half)
    assert by_json.evaluate(13) == pytest.approx(from_layout)
    assert 0 < from_layout['kaist/MR-2_all'] < 100


def test_metric_requires_ground_truth_source():
    metric = KAISTMissRateMetric()
    sample = dict(img_id=60000019, ori_shape=(512, 640), pred_instances=dict(
        bboxes=torch.zeros(0, 4), scores=torch.zeros(0)))
    with pytest.raises(KeyError, match="add 'instances' to the meta_keys"):
        metric.process(None, [sample])


def test_metric_ground_truth_from_data_samples(toy_kaist):
    """Without data_root/ann_file the data samples' ``instances`` (packed
    via meta_keys) are the ground truth, with the same result."""
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackDetInputs',
                     meta_keys=('img_id', 'img_path', 'ori_shape',
                                'img_shape', 'scale_factor', 'instances'))]
    from msfam_mm.detection import KAISTDataset
    ds = KAISTDataset(data_root=str(toy_kaist),
                      image_set='imageSets/sample-all.txt', modality='lwir',
                      test_mode=True, pipeline=pipeline)
    rng = np.random.default_rng(0)
    samples = []
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        gt = sample.gt_instances.bboxes.tensor
        keep = torch.from_numpy(rng.random(len(gt)) < 0.6)
        sample.pred_instances = InstanceData(
            bboxes=gt[keep] + 2.0, scores=torch.rand(int(keep.sum())),
            labels=torch.zeros(int(keep.sum()), dtype=torch.long))
        samples.append(sample)
    by_samples = KAISTMissRateMetric()
    by_samples.process(None, samples)
    by_files = KAISTMissRateMetric(data_root=str(toy_kaist))
    by_files.process(None, samples)
    a, b = by_samples.evaluate(len(ds)), by_files.evaluate(len(ds))
    assert a == pytest.approx(b)
    assert 0 < a['kaist/MR-2_all'] < 100
