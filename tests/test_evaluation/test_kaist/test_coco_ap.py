"""COCO-style AP on KAIST frames (msfam_mm.evaluation.kaist.coco_ap)."""
import math

import pytest

from msfam_mm.datasets.kaist import kaist_to_coco, read_image_set
from msfam_mm.evaluation.kaist import coco_ap


# pipelines are built in the mmdet scope
pytestmark = pytest.mark.usefixtures('mmdet_scope')


def test_coco_ap_perfect_and_empty(toy_kaist):
    frames = read_image_set(str(toy_kaist / 'imageSets' /
                                'sample-all.txt'))
    coco = kaist_to_coco(str(toy_kaist), frames)
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
