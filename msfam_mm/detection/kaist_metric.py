"""KAIST log-average miss rate as an mmengine metric.

MMDetection has no MR^-2 metric; this one implements the KAIST benchmark
(Hwang et al., CVPR 2015; Dollar et al., PAMI 2012 protocol, see
:mod:`msfam_mm.evaluation.kaist.miss_rate`), which the paper uses for its
detection experiment (Zheng et al., Sensors 2022, Section 4.6). The protocol
itself is pure Python (``msfam_mm.evaluation.kaist``, also used by
``tools/eval_kaist.py``); this metric only adapts it to detector outputs and
registers in MMDetection's ``METRICS`` for the GFLV2 configs.
"""
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from msfam_mm.datasets.kaist.bbgt import BBGtObject, record_occlusion
from msfam_mm.datasets.kaist.frame_ids import (frame_to_img_id,
                                               img_id_to_frame,
                                               read_image_set)
from msfam_mm.evaluation.kaist import (MR2_FPPI_POINTS, KAISTFrameGT,
                                       default_subsets, evaluate_miss_rates,
                                       evaluation_setting, load_gt_from_coco,
                                       load_gt_from_layout)
from msfam_mm.evaluation.kaist.curves import save_miss_rate_curves


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _instance_to_object(inst: dict) -> BBGtObject:
    """A data-info instance (xyxy ``bbox``, ``ignore_flag``, KAIST extras)
    as a bbGt object. Without ``kaist_label`` (e.g. instances of a COCO
    json dataset), non-ignored boxes are persons and ignored ones ignore
    regions; an ignored ``person`` keeps its ignore flag (dataset filter,
    file ``ign`` column or degenerate box)."""
    x1, y1, x2, y2 = (float(v) for v in inst['bbox'])
    ign = int(inst.get('ignore_flag', 0))
    label = inst.get('kaist_label', 'people' if ign else 'person')
    return BBGtObject(label, x1, y1, x2 - x1, y2 - y1,
                      record_occlusion(inst, label, 'KAISTMissRateMetric'),
                      (0., 0., 0., 0.),
                      ign if label == 'person' else 0)


@METRICS.register_module()
class KAISTMissRateMetric(BaseMetric):
    """Log-average miss rate MR^-2 (%) for all / day / night frames.

    Ground truth comes, in this order of preference, from a
    ``tools/kaist2coco.py`` json (``ann_file``), from the KAIST annotation
    files (``data_root`` + ``ann_subdir``, the frames being those
    evaluated), or -- with neither given -- from each data sample's
    ``instances`` (``KAISTDataset`` data-info instances with their
    ``kaist_label`` / ``occlusion`` extras; add ``'instances'`` to
    ``PackDetInputs``' ``meta_keys``). It is filtered by the
    evaluated setting (default "reasonable": person, height >= 55 px,
    occlusion none/partial, inside the 5-px border; ``people`` / ``person?``
    / ``cyclist`` and filtered persons are ignore regions). Predictions are
    the ``pred_instances`` (``bboxes`` xyxy in original-image pixels,
    ``scores``, ``labels``; label 0 = person) of MMDetection data samples.

    Reported keys (lower is better): ``MR-2_all``, ``MR-2_day``,
    ``MR-2_night`` in percent (NaN for a subset without frames), with the
    metric prefix, e.g. ``kaist/MR-2_all``.

    Args:
        data_root (str, optional): KAIST root holding ``ann_subdir``;
            ``None`` (default) with no ``ann_file``: ground truth from the
            data samples' ``instances``.
        ann_subdir (str): annotation folder. Defaults to 'annotations'.
        ann_file (str, optional): kaist2coco json; used instead of
            ``data_root`` when given.
        day_image_set / night_image_set (str, optional): frame lists
            (relative to ``data_root`` or absolute) defining day/night;
            default: KAIST set numbers (00-02, 06-08 day).
        min_height (float): smallest evaluated person height in px
            (55 on 512-px-high KAIST frames; scale it for other sizes).
        max_height (float): largest evaluated height. Defaults to inf.
        occlusions (tuple, optional): evaluated occlusion levels
            (0 none, 1 partial, 2 heavy). Defaults to (0, 1).
        border (float, optional): border in px; boxes reaching into it are
            ignored. Defaults to 5. ``None`` disables the rule.
        iou_thr (float): matching threshold. Defaults to 0.5.
        dt_offset (float): added to detection x/y (1 reproduces the KAIST
            MATLAB wrapper's 0-to-1-based shift). Defaults to 0.
        curves_file (str, optional): also keep the FPPI/recall curves the
            MR^-2 values come from (all/day/night) in this ``.npz``
            (:func:`msfam_mm.evaluation.kaist.curves.load_miss_rate_curves`
            reads it back), rewritten at every evaluation. Defaults to None.
        collect_device, prefix: see :class:`mmengine.evaluator.BaseMetric`.

    Example:
        >>> metric = KAISTMissRateMetric()  # GT from data samples
        >>> # val_evaluator = dict(type='KAISTMissRateMetric',
        >>> #                      data_root='data/kaist')
    """

    default_prefix: Optional[str] = 'kaist'

    def __init__(self,
                 data_root: Optional[str] = None,
                 ann_subdir: str = 'annotations',
                 ann_file: Optional[str] = None,
                 day_image_set: Optional[str] = None,
                 night_image_set: Optional[str] = None,
                 min_height: float = 55.0,
                 max_height: float = math.inf,
                 occlusions: Optional[Sequence[int]] = (0, 1),
                 border: Optional[float] = 5.0,
                 iou_thr: float = 0.5,
                 dt_offset: float = 0.0,
                 curves_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if data_root is not None and not osp.isdir(data_root):
            raise FileNotFoundError(f'KAISTMissRateMetric: data_root '
                                    f'{data_root} is not a directory')
        if not 0 < iou_thr <= 1:
            raise ValueError(f'KAISTMissRateMetric: iou_thr must be in '
                             f'(0, 1], got {iou_thr}')
        self.data_root = data_root
        self.ann_subdir = ann_subdir
        self.ann_file = ann_file
        self.setting = evaluation_setting(min_height, max_height, occlusions,
                                          border)
        self.iou_thr = iou_thr
        self.dt_offset = float(dt_offset)
        self.curves_file = curves_file
        self.day_image_set = self._abs(day_image_set)
        self.night_image_set = self._abs(night_image_set)
        self._coco_gt: Optional[Dict[int, KAISTFrameGT]] = None

    def _abs(self, path: Optional[str]) -> Optional[str]:
        if path is None or osp.isabs(path) or self.data_root is None:
            return path
        return osp.join(self.data_root, path)

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Keep, per frame, ``img_id``, its size and ``[x, y, w, h, s]``."""
        for sample in data_samples:
            if not isinstance(sample, dict):  # DetDataSample
                sample = sample.to_dict()
            img_id = sample.get('img_id')
            if img_id is None:
                raise KeyError('KAISTMissRateMetric: data sample has no '
                               'img_id (use KAISTDataset or a kaist2coco '
                               'json dataset)')
            pred = sample['pred_instances']
            bboxes = _to_numpy(pred['bboxes']).reshape(-1, 4).astype(
                np.float64)
            scores = _to_numpy(pred['scores']).reshape(-1).astype(np.float64)
            if 'labels' in pred:
                person = _to_numpy(pred['labels']).reshape(-1) == 0
                bboxes, scores = bboxes[person], scores[person]
            dets = np.concatenate(
                [bboxes[:, :2], bboxes[:, 2:] - bboxes[:, :2],
                 scores[:, None]], axis=1)
            h, w = sample.get('ori_shape', (None, None))[:2]
            result = dict(img_id=int(img_id), dets=dets, img_size=(w, h))
            if self.ann_file is None and self.data_root is None:
                if 'instances' not in sample:
                    raise KeyError(
                        'KAISTMissRateMetric: no ground truth source: give '
                        'data_root or ann_file, or add \'instances\' to '
                        'the meta_keys of PackDetInputs')
                # plain dicts: mmengine's result collection turns
                # namedtuples into bare tuples
                result['objects'] = [
                    _instance_to_object(inst)._asdict()
                    for inst in sample['instances']
                ]
            self.results.append(result)

    def _ground_truth(self, results: List[dict]) -> Dict[int, KAISTFrameGT]:
        ids = [r['img_id'] for r in results]
        if self.ann_file is None and self.data_root is None:
            return {
                r['img_id']: KAISTFrameGT(
                    img_id_to_frame(r['img_id']),
                    tuple(int(v) for v in r['img_size'])
                    if r['img_size'][0] is not None else (640, 512),
                    [BBGtObject(**o) for o in r['objects']])
                for r in results
            }
        if self.ann_file is not None:
            if self._coco_gt is None:
                self._coco_gt = load_gt_from_coco(self.ann_file)
            missing = [i for i in ids if i not in self._coco_gt]
            if missing:
                raise KeyError(
                    f'KAISTMissRateMetric: {len(missing)} evaluated img_ids '
                    f'are not in {self.ann_file}, e.g. {missing[:3]}')
            return {i: self._coco_gt[i] for i in ids}
        gt = load_gt_from_layout(self.data_root,
                                 [img_id_to_frame(i) for i in ids],
                                 self.ann_subdir, image_size=(640, 512))
        # the border rule needs each frame's own size: the data sample's
        for r in results:
            w, h = r['img_size']
            if w is not None:
                frame = gt[r['img_id']]
                gt[r['img_id']] = frame._replace(img_size=(int(w), int(h)))
        return gt

    def _subsets(self, ids: List[int]) -> Dict[str, List[int]]:
        if self.day_image_set is None and self.night_image_set is None:
            return default_subsets(ids)
        subsets = default_subsets(ids)
        for name, path in (('day', self.day_image_set),
                           ('night', self.night_image_set)):
            if path is not None:
                listed = {frame_to_img_id(f) for f in read_image_set(path)}
                subsets[name] = [i for i in ids if i in listed]
        return subsets

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        # one entry per frame (a frame seen twice keeps its last prediction)
        by_id = {r['img_id']: r for r in results}
        results = list(by_id.values())
        gt = self._ground_truth(results)
        dets = {r['img_id']: r['dets'] for r in results}
        res = evaluate_miss_rates(gt, dets, self.setting,
                                  self._subsets(list(by_id)), self.iou_thr,
                                  MR2_FPPI_POINTS, self.dt_offset)
        if self.curves_file is not None:
            save_miss_rate_curves(self.curves_file, res)
        metrics = {}
        for name in ('all', 'day', 'night'):
            r = res[name]
            metrics[f'MR-2_{name}'] = float(r['mr'] * 100.0)
            logger.info(f'KAIST MR-2 ({name}, reasonable-style setting '
                        f'h>={self.setting["min_height"]:g}): '
                        f'{r["mr"] * 100:.2f}% on {r["num_images"]} frames, '
                        f'{r["num_gt"]} persons, {r["num_dets"]} detections')
        return metrics
