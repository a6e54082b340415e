"""COCO AP / AP_S / AP_M / AP_L of detections on KAIST, via pycocotools.

Uses the kaist2coco json (``iscrowd`` = ignore region, see
:mod:`msfam_mm.datasets.kaist.coco_format`) and a COCO results list
(``image_id``, ``bbox`` ``[x, y, w, h]``, ``score``, ``category_id``), the
same inputs as MMDetection's ``CocoMetric``, so the numbers agree with it.

Example:
    >>> stats = coco_ap(coco_dict, results)  # doctest: +SKIP
    >>> stats['AP'], stats['AP_S']  # doctest: +SKIP
"""
import contextlib
import copy
import io
import math
from typing import Dict, List

import numpy as np

#: COCOeval.stats indices of the reported numbers.
_STATS = dict(AP=0, AP50=1, AP75=2, AP_S=3, AP_M=4, AP_L=5)


#: COCOeval's default area ranges (bounds inclusive, as it applies them).
_AREA_RANGES = dict(AP_S=(0, 32**2), AP_M=(32**2, 96**2), AP_L=(96**2, 1e10))


def _no_detections(gt: Dict) -> Dict[str, float]:
    """What COCOeval reports without detections: 0 where the set has
    (non-crowd) ground truth, NaN (its -1) where it has none."""
    areas = [float(a.get('area', a['bbox'][2] * a['bbox'][3]))
             for a in gt.get('annotations', []) if not a.get('iscrowd', 0)]
    stats = {k: (0.0 if areas else math.nan)
             for k in ('AP', 'AP50', 'AP75')}
    for key, (low, high) in _AREA_RANGES.items():
        stats[key] = 0.0 if any(low <= a <= high for a in areas) else \
            math.nan
    return stats


def coco_ap(coco_gt: Dict, results: List[Dict], verbose: bool = False
            ) -> Dict[str, float]:
    """COCO bbox metrics (fractions; NaN where COCO reports -1, e.g. no
    large person in the set).

    Args:
        coco_gt: COCO detection dict (kaist2coco output).
        results: COCO results list; an empty list gives AP 0 (NaN for a
            size range without ground truth, as with detections).
        verbose: print pycocotools' summary table.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = copy.deepcopy(coco_gt)
    gt.setdefault('info', {})
    gt.setdefault('licenses', [])
    if not results:
        return _no_detections(gt)
    sink = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(
        io.StringIO())
    with sink:
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        dt = coco.loadRes([dict(r) for r in results])
        evaluator = COCOeval(coco, dt, 'bbox')
        evaluator.params.imgIds = sorted(coco.getImgIds())
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = np.asarray(evaluator.stats, np.float64)
    return {k: (math.nan if stats[i] < 0 else float(stats[i]))
            for k, i in _STATS.items()}
