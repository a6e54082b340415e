"""KAISTMissRateMetric(curves_file=...) keeps exactly the curves its MR^-2
comes from (what tools/compare_detection.py draws)."""
import numpy as np
import pytest
import torch

from msfam_mm.datasets.kaist.frame_ids import frame_to_img_id
from msfam_mm.detection import KAISTMissRateMetric
from msfam_mm.evaluation.kaist.curves import load_miss_rate_curves

DAY, NIGHT = 'set06/V000/I00019', 'set09/V000/I00019'


def _sample(frame, preds):
    """A data sample: one 40x100 person at (100, 100); ``preds`` rows are
    xyxy + score."""
    preds = torch.tensor(preds, dtype=torch.float32).reshape(-1, 5)
    return dict(
        img_id=frame_to_img_id(frame), ori_shape=(512, 640),
        instances=[dict(bbox=[100., 100., 140., 200.], ignore_flag=0,
                        kaist_label='person', occlusion=0)],
        pred_instances=dict(bboxes=preds[:, :4], scores=preds[:, 4],
                            labels=torch.zeros(len(preds),
                                               dtype=torch.long)))


def test_curves_file_holds_the_metric_curves(tmp_path):
    samples = [
        _sample(DAY, [[100, 100, 140, 200, .9], [400, 300, 440, 400, .8]]),
        _sample(NIGHT, [[400, 300, 440, 400, .7], [100, 100, 140, 200, .6]]),
    ]
    path = tmp_path / 'type' / 'miss_rate_curves.npz'
    metric = KAISTMissRateMetric(curves_file=str(path))
    metric.process(None, samples)
    metrics = metric.evaluate(2)
    curves = load_miss_rate_curves(str(path))
    # by hand: TP .9, FP .8, FP .7, TP .6 over two frames and two persons
    np.testing.assert_array_equal(curves['all']['fppi'], [0, .5, 1, 1])
    np.testing.assert_array_equal(curves['all']['recall'], [.5, .5, .5, 1])
    for name in ('all', 'day', 'night'):
        assert metrics[f'kaist/MR-2_{name}'] == pytest.approx(
            curves[name]['mr'] * 100, abs=0, rel=1e-12)
    np.testing.assert_array_equal(curves['day']['fppi'], [0, 1])
    np.testing.assert_array_equal(curves['night']['recall'], [0, 1])
    assert curves['all']['num_images'] == 2 and curves['all']['num_gt'] == 2


def test_without_curves_file_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    metric = KAISTMissRateMetric()
    metric.process(None, [_sample(DAY, [[100, 100, 140, 200, .9]])])
    assert metric.evaluate(1)['kaist/MR-2_day'] < 1e-6
    assert list(tmp_path.iterdir()) == []
