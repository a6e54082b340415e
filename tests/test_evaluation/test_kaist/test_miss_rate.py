"""KAIST log-average miss rate (msfam_mm.evaluation.kaist): the protocol on
constructed cases and the reasonable setting on real annotations."""
import math

import numpy as np
import pytest

from msfam_mm.datasets.kaist import frame_to_img_id
from msfam_mm.evaluation.kaist import (MR2_FPPI_POINTS, evaluation_setting,
                                       gt_array, kaist_miss_rate,
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
