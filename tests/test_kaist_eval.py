"""KAIST log-average miss rate: protocol on constructed cases, the
registered metric and tools/eval_kaist.py on the real test annotations."""
import json
import math

import numpy as np
import pytest
import torch
from mmdet.registry import METRICS
from mmengine.structures import InstanceData

from msfam_mm.datasets.kaist import (frame_to_img_id, kaist_to_coco,
                                     read_image_set)
from msfam_mm.detection import KAISTMissRateMetric
from msfam_mm.evaluation.kaist import (MR2_FPPI_POINTS,
                                       coco_ap, evaluate_miss_rates,
                                       evaluation_setting, gt_array,
                                       kaist_miss_rate,
                                       load_gt_from_layout,
                                       log_average_miss_rate, match_frame)

# pipelines are built in the mmdet scope
pytestmark = pytest.mark.usefixtures('mmdet_scope')


def _gt(*rows):
    return np.asarray(rows, float).reshape(-1, 5)


def test_reference_points_are_nine_log_spaced():
    assert len(MR2_FPPI_POINTS) == 9
    np.testing.assert_allclose(MR2_FPPI_POINTS[[0, 4, 8]], [0.01, 0.1, 1])
    np.testing.assert_allclose(np.diff(np.log10(MR2_FPPI_POINTS)), 0.25)


def test_perfect_detections_give_zero_and_none_give_hundred():
    gts = [_gt([10, 10, 20, 60, 0], [100, 50, 30, 80, 0]) for _ in range(5)]
    perfect = [np.c_[g[:, :4], np.ones(len(g))] for g in gts]
    res = kaist_miss_rate(gts, perfect)
    assert res['mr'] < 1e-9 and res['num_gt'] == 10
    none = kaist_miss_rate(gts, [np.zeros((0, 5))] * 5)
    assert none['mr'] == 1.0


def test_detections_on_ignore_regions_are_not_false_positives():
    # a person and a 'people' ignore region; many detections inside the
    # region (IoU with it < 0.5, but >= 50 % of each detection inside it)
    gts = [_gt([10, 10, 20, 60, 0], [200, 20, 120, 100, 1])] * 10
    dets = []
    for _ in range(10):
        d = [[10, 10, 20, 60, 0.5]]
        d += [[200 + 10 * k, 30, 25, 60, 0.9] for k in range(8)]
        dets.append(np.asarray(d, float))
    gm, dm = match_frame(gts[0], dets[0])
    assert gm.tolist() == [1, -1] and dm.tolist() == [1] + [-1] * 8
    assert kaist_miss_rate(gts, dets)['mr'] < 1e-9
    # the same detections without the ignore region are 8 FPs per frame
    plain = [_gt([10, 10, 20, 60, 0])] * 10
    assert kaist_miss_rate(plain, dets)['mr'] > 0.05


def test_matching_prefers_people_and_counts_duplicates():
    gt = _gt([0, 0, 20, 50, 1], [0, 0, 20, 50, 0])  # ignore listed first
    gm, dm = match_frame(gt, [[0, 0, 20, 50, 0.9], [1, 1, 20, 50, 0.8]])
    assert gm.tolist() == [-1, 1]  # the person got the best detection
    assert dm.tolist() == [1, -1]  # the duplicate fell on the ignore box
    gm, dm = match_frame(_gt([0, 0, 20, 50, 0]),
                         [[0, 0, 20, 50, 0.9], [1, 1, 20, 50, 0.8]])
    assert dm.tolist() == [1, 0]  # a second match of a person is an FP
    # IoU below the threshold: miss + FP
    gm, dm = match_frame(_gt([0, 0, 20, 50, 0]), [[15, 0, 20, 50, 0.9]])
    assert gm.tolist() == [0] and dm.tolist() == [0]


def test_log_average_on_analytic_curves():
    # 100 frames, one person each; each frame has one FP scored above the
    # TP: FPPI climbs to 1 at recall 0, then recall jumps to 1 at FPPI 1.
    gts = [_gt([10, 10, 20, 60, 0])] * 100
    dets = [np.asarray([[10, 10, 20, 60, 0.5], [300, 10, 20, 60, 0.9]])
            for _ in range(100)]
    res = kaist_miss_rate(gts, dets)
    expected = math.exp((8 * math.log(1.0) + math.log(1e-10)) / 9)
    assert res['mr'] == pytest.approx(expected)
    np.testing.assert_allclose(res['miss_at_ref'][:8], 1.0)
    # half of the persons found, no FP: miss rate 0.5 at every point
    gts = [_gt([10, 10, 20, 60, 0], [100, 10, 20, 60, 0])] * 20
    dets = [np.asarray([[10, 10, 20, 60, 0.7]])] * 20
    assert kaist_miss_rate(gts, dets)['mr'] == pytest.approx(0.5)
    # the value at each point is the one at the largest FPPI not above it
    mr, miss = log_average_miss_rate([0.005, 0.05, 0.5], [0.2, 0.6, 0.9])
    np.testing.assert_allclose(
        miss, [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.4, 0.1, 0.1])
    assert mr == pytest.approx(math.exp(np.mean(np.log(miss))))


def test_reasonable_setting_and_border_in_gt_array(kaist_sample):
    gt = load_gt_from_layout(str(kaist_sample), ['set08/V001/I02579'])
    frame = gt[frame_to_img_id('set08/V001/I02579')]
    assert frame.img_size == (640, 512)  # read from the image header
    arr = gt_array(frame, evaluation_setting())
    assert len(arr) == len(frame.objects) == 19
    ok = [o.label == 'person' and o.h >= 55 and o.occlusion <= 1 and
          5 <= o.x and o.x + o.w <= 635 and 5 <= o.y and o.y + o.h <= 507
          for o in frame.objects]
    assert (arr[:, 4] == 0).tolist() == ok
    assert sum(ok) == 7  # counted by hand from the file


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


def test_metric_registered_and_scores_real_sample(kaist_sample, tmp_path):
    frames = read_image_set(str(kaist_sample / 'imageSets' /
                                'sample-all.txt'))
    gt = load_gt_from_layout(str(kaist_sample), frames)
    metric = METRICS.build(dict(type='KAISTMissRateMetric',
                                data_root=str(kaist_sample)))
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
    path.write_text(json.dumps(kaist_to_coco(str(kaist_sample), frames)))
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


def test_metric_ground_truth_from_data_samples(kaist_sample):
    """Without data_root/ann_file the data samples' ``instances`` (packed
    via meta_keys) are the ground truth, with the same result."""
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackDetInputs',
                     meta_keys=('img_id', 'img_path', 'ori_shape',
                                'img_shape', 'scale_factor', 'instances'))]
    from msfam_mm.detection import KAISTDataset
    ds = KAISTDataset(data_root=str(kaist_sample),
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
    by_files = KAISTMissRateMetric(data_root=str(kaist_sample))
    by_files.process(None, samples)
    a, b = by_samples.evaluate(len(ds)), by_files.evaluate(len(ds))
    assert a == pytest.approx(b)
    assert 0 < a['kaist/MR-2_all'] < 100


def _jittered_dets(gt_frames, seed=0):
    """Plausible detector output: jittered persons, misses and FPs."""
    rng = np.random.default_rng(seed)
    dets = []
    for img_id, frame in gt_frames.items():
        for o in frame.objects:
            if rng.random() < 0.8:
                j = rng.normal(0, 0.08, 4) * [o.w, o.h, o.w, o.h]
                dets.append(dict(image_id=img_id, category_id=1,
                                 bbox=[o.x + j[0], o.y + j[1],
                                       max(2, o.w + j[2]),
                                       max(2, o.h + j[3])],
                                 score=float(rng.uniform(0.3, 1))))
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 600), rng.uniform(150, 300)
            dets.append(dict(image_id=img_id, category_id=1,
                             bbox=[x, y, 30, 70],
                             score=float(rng.uniform(0, 0.8))))
    return dets


def test_eval_kaist_tool_on_improved_annotations(kaist_improved_annotations,
                                                 tmp_path, repo_root, capsys,
                                                 load_tool):
    root = str(kaist_improved_annotations)
    frames = read_image_set(root + '/imageSets/test-all-20.txt')
    gt = load_gt_from_layout(root, frames)
    dets = _jittered_dets(gt)
    det_path = tmp_path / 'dets.json'
    det_path.write_text(json.dumps(dets))
    out = tmp_path / 'scores.json'
    tool = load_tool('eval_kaist')
    assert tool.main(['--ann', root, '--image-set',
                      'imageSets/test-all-20.txt', '--det', str(det_path),
                      '--json-out', str(out)]) == 0
    stdout = capsys.readouterr().out
    assert 'MR^-2' in stdout and 'AP_S' in stdout
    scores = json.loads(out.read_text())
    # identical to the protocol functions the metric uses
    per_image = {}
    for d in dets:
        per_image.setdefault(d['image_id'], []).append(d['bbox'] +
                                                       [d['score']])
    ref = evaluate_miss_rates(gt, per_image)
    for name in ('all', 'day', 'night'):
        assert scores[f'MR-2_{name}'] == pytest.approx(
            ref[name]['mr'] * 100)
        assert 5 < scores[f'MR-2_{name}'] < 95
    assert ref['all']['num_images'] == 2252
    assert (ref['day']['num_images'], ref['night']['num_images']) == (1455,
                                                                      797)
    assert 0 < scores['AP'] < scores['AP50'] < 100


def test_coco_ap_perfect_and_empty(kaist_sample):
    frames = read_image_set(str(kaist_sample / 'imageSets' /
                                'sample-all.txt'))
    coco = kaist_to_coco(str(kaist_sample), frames)
    perfect = [dict(image_id=a['image_id'], bbox=a['bbox'], score=1.0,
                    category_id=1) for a in coco['annotations']
               if not a['iscrowd']]
    ap = coco_ap(coco, perfect)
    assert ap['AP'] == pytest.approx(1.0) and ap['AP_M'] == pytest.approx(1.)
    empty = coco_ap(coco, [])
    assert empty['AP'] == 0.0
    for key, value in ap.items():  # NaN exactly where COCOeval has -1
        assert math.isnan(empty[key]) == math.isnan(value), key
        assert math.isnan(value) or empty[key] == 0.0, key
    # one medium person only: no small or large ground truth -> NaN, with
    # or without detections
    one = dict(images=[dict(id=1, width=640, height=512)],
               categories=[dict(id=1, name='person')],
               annotations=[dict(id=1, image_id=1, category_id=1,
                                 bbox=[10, 10, 30, 80], area=2400.,
                                 iscrowd=0)])
    miss = coco_ap(one, [dict(image_id=1, bbox=[400, 300, 30, 80],
                              score=1.0, category_id=1)])
    none = coco_ap(one, [])
    for stats in (miss, none):
        assert stats['AP'] == stats['AP_M'] == 0.0
        assert math.isnan(stats['AP_S']) and math.isnan(stats['AP_L'])
    # a detection on a crowd (ignore) region does not lower AP
    crowd = [a for a in coco['annotations'] if a['iscrowd']][0]
    extra = perfect + [dict(image_id=crowd['image_id'], bbox=crowd['bbox'],
                            score=1.0, category_id=1)]
    assert coco_ap(coco, extra)['AP'] == pytest.approx(1.0)


def test_eval_kaist_tool_inputs(kaist_sample, tmp_path, repo_root, capsys,
                                load_tool):
    tool = load_tool('eval_kaist')
    root = str(kaist_sample)
    frames = read_image_set(root + '/imageSets/sample-all.txt')
    coco = kaist_to_coco(root, frames)
    ann = tmp_path / 'gt.json'
    ann.write_text(json.dumps(coco))
    # frame_id instead of image_id; persons found exactly -> MR 0, AP 100
    dets = [dict(frame_id=frames[0], bbox=a['bbox'], score=1.0)
            for a in coco['annotations']
            if a['image_id'] == frame_to_img_id(frames[0])]
    dets += [dict(image_id=a['image_id'], bbox=a['bbox'], score=1.0,
                  category_id=1) for a in coco['annotations']
             if a['image_id'] != frame_to_img_id(frames[0])]
    dets.append(dict(image_id=1, bbox=[0, 0, 5, 5], score=1.0))  # unknown
    det = tmp_path / 'dets.json'
    det.write_text(json.dumps(dets))
    out = tmp_path / 'scores.json'
    assert tool.main(['--ann', str(ann), '--det', str(det), '--json-out',
                      str(out)]) == 0
    assert '1 detected image ids are not in the ground truth' in \
        capsys.readouterr().err
    scores = json.loads(out.read_text())
    assert scores['MR-2_all'] < 1e-6 and scores['AP'] == pytest.approx(100)
    # strict JSON (no NaN): a size range without ground truth is null
    assert 'NaN' not in out.read_text()
    assert all(v is None or math.isfinite(v) for v in scores.values())
    # --category-id keeps only that category (and entries without one):
    # only the first frame's persons remain found
    assert tool.main(['--ann', str(ann), '--det', str(det), '--json-out',
                      str(out), '--category-id', '5']) == 0
    assert 50 < json.loads(out.read_text())['MR-2_all'] < 100
    capsys.readouterr()
    # malformed detections: exit code 2 and a message naming the entry
    det.write_text(json.dumps([dict(image_id=1, score=0.5)]))
    assert tool.main(['--ann', str(ann), '--det', str(det)]) == 2
    assert 'entry 0 is not a COCO detection' in capsys.readouterr().err
    assert tool.main(['--ann', root, '--det', str(det)]) == 2
    assert '--image-set is required' in capsys.readouterr().err


def test_plain_coco_without_occlusion_warns_by_name():
    """A COCO json from elsewhere has no KAIST occlusion level: its persons
    count as unoccluded, which biases MR^-2, so the loader says so."""
    import warnings
    from msfam_mm.datasets.kaist.coco_format import coco_to_kaist_frames
    coco = dict(images=[dict(id=1, width=640, height=512)],
                annotations=[dict(id=1, image_id=1, bbox=[10, 10, 30, 80],
                                  iscrowd=0)])
    with pytest.warns(UserWarning, match='other.json: person annotations '
                                         'carry no KAIST occlusion'):
        frames = coco_to_kaist_frames(coco, 'other.json')
    assert frames[1][2][0].occlusion == 0
    coco['annotations'][0]['occlusion'] = 2
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        frames = coco_to_kaist_frames(coco, 'kaist.json')
    assert frames[1][2][0].occlusion == 2
