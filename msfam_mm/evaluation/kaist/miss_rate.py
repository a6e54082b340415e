"""Caltech/KAIST log-average miss rate (MR^-2), pure numpy.

Re-implements the protocol of Dollar et al. (PAMI 2012, Caltech Pedestrian
toolbox ``bbGt>evalRes`` / ``bbGt>compRoc``) as used by the KAIST benchmark
devkit (``kaist_eval_full``), which reports the paper's detection results
(Zheng et al., Sensors 2022, Section 4.6):

1. Ground truth per frame is ``[x, y, w, h, ignore]``; ignore regions are
   objects labelled ``people`` / ``person?`` / ``cyclist`` and ``person``
   boxes outside the evaluated setting (see
   :func:`msfam_mm.datasets.kaist.bbgt_ignore_flags`).
2. :func:`match_frame`: detections, highest score first, are matched
   greedily to the unmatched non-ignore box of highest IoU >= ``iou_thr``;
   only if none exists, to an ignore region with
   ``area(dt & gt) / area(dt) >= iou_thr`` (an ignore region may absorb
   any number of detections). Detections on ignore regions and ignore
   regions themselves are excluded from the counts.
3. :func:`roc_curve`: all remaining detections of all frames sorted by score
   give false positives per image (FPPI) and recall.
4. :func:`log_average_miss_rate`: the miss rate is sampled at 9 FPPI points
   log-spaced in [1e-2, 1e0] (at each point the value at the largest FPPI
   not above it, 100 % miss if there is none) and averaged in log space.

Boxes are continuous ``x, y, w, h`` (area ``w * h``), as in the toolbox; no
aspect-ratio standardisation (the KAIST devkit does not squarify).

Example:
    >>> gt = [np.array([[10, 10, 20, 50, 0]], float)]
    >>> dt = [np.array([[10, 10, 20, 50, 0.9]], float)]
    >>> round(kaist_miss_rate(gt, dt)['mr'], 6)
    0.0
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np

#: The 9 reference FPPI points of MR^-2: 10^-2 ... 10^0 in steps of 10^0.25.
MR2_FPPI_POINTS = np.logspace(-2.0, 0.0, 9)
#: Floor of the miss rate before the log, as in the toolbox.
_MIN_MISS = 1e-10


def _as_boxes(arr, cols: int, name: str) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, cols))
    if arr.ndim != 2 or arr.shape[1] != cols:
        raise ValueError(f'{name} must have shape (N, {cols}), got '
                         f'{arr.shape}')
    return arr


def pairwise_overlaps(dt: np.ndarray, gt: np.ndarray,
                      gt_ignore: np.ndarray) -> np.ndarray:
    """Overlap matrix (n_dt, n_gt) of ``xywh`` boxes.

    IoU for normal ground truth; for ignore regions the fraction of the
    detection inside the region, ``area(dt & gt) / area(dt)``
    (toolbox ``compOas``).
    """
    dt = np.asarray(dt, np.float64).reshape(-1, 4)
    gt = np.asarray(gt, np.float64).reshape(-1, 4)
    if len(dt) == 0 or len(gt) == 0:
        return np.zeros((len(dt), len(gt)))
    dx2, dy2 = dt[:, 0] + dt[:, 2], dt[:, 1] + dt[:, 3]
    gx2, gy2 = gt[:, 0] + gt[:, 2], gt[:, 1] + gt[:, 3]
    iw = np.minimum(dx2[:, None], gx2[None]) - np.maximum(
        dt[:, None, 0], gt[None, :, 0])
    ih = np.minimum(dy2[:, None], gy2[None]) - np.maximum(
        dt[:, None, 1], gt[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    dt_area = (dt[:, 2] * dt[:, 3])[:, None]
    gt_area = (gt[:, 2] * gt[:, 3])[None]
    union = np.where(np.asarray(gt_ignore, bool)[None], dt_area,
                     dt_area + gt_area - inter)
    with np.errstate(divide='ignore', invalid='ignore'):
        oa = np.where(union > 0, inter / union, 0.0)
    return oa


def match_frame(gt, dt, iou_thr: float = 0.5,
                multi_match: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Match one frame's detections to its ground truth (``evalRes``).

    Args:
        gt: (M, 5) ``[x, y, w, h, ignore]``.
        dt: (N, 5) ``[x, y, w, h, score]``.
        iou_thr: overlap threshold (0.5 in the KAIST benchmark).
        multi_match: allow several detections per ground-truth box.

    Returns:
        ``(gt_match, dt_match)`` in input order: ``gt_match`` is -1 for
        ignore regions, 1 matched, 0 missed; ``dt_match`` is -1 on an
        ignore region, 1 true positive, 0 false positive.
    """
    gt = _as_boxes(gt, 5, 'gt')
    dt = _as_boxes(dt, 5, 'dt')
    # toolbox order: detections by score (descending, stable), ignore gt
    # last, so matches to real pedestrians are preferred
    dt_order = np.argsort(-dt[:, 4], kind='stable')
    gt_order = np.argsort(gt[:, 4] != 0, kind='stable')
    gts, dts = gt[gt_order], dt[dt_order]
    gt_state = -(gts[:, 4] != 0).astype(np.int64)  # -1 ignore, 0 free
    dt_state = np.zeros(len(dts), np.int64)
    oa = pairwise_overlaps(dts[:, :4], gts[:, :4], gt_state == -1)
    for d in range(len(dts)):
        best_oa, best_g, best_m = iou_thr, -1, 0
        for g in range(len(gts)):
            m = gt_state[g]
            if m == 1 and not multi_match:
                continue
            if best_m != 0 and m == -1:
                break  # matched a pedestrian; ignore regions come last
            if oa[d, g] < best_oa:
                continue
            best_oa, best_g, best_m = oa[d, g], g, (1 if m == 0 else -1)
        if best_m == -1:
            dt_state[d] = -1
        elif best_m == 1:
            gt_state[best_g] = 1
            dt_state[d] = 1
    gt_match = np.empty_like(gt_state)
    gt_match[gt_order] = gt_state
    dt_match = np.empty_like(dt_state)
    dt_match[dt_order] = dt_state
    return gt_match, dt_match


def roc_curve(gt_matches: Sequence[np.ndarray],
              dt_scores: Sequence[np.ndarray],
              dt_matches: Sequence[np.ndarray]) -> Dict[str, np.ndarray]:
    """FPPI/recall curve over frames (``compRoc`` with ``roc=1``).

    Returns:
        dict with ``fppi``, ``recall`` and ``scores`` (one entry per
        non-ignored detection, by descending score), ``num_gt`` and
        ``num_images``.
    """
    num_images = len(gt_matches)
    if not (len(dt_scores) == len(dt_matches) == num_images):
        raise ValueError('roc_curve: gt_matches, dt_scores and dt_matches '
                         'must have one entry per frame')
    gm = np.concatenate([np.asarray(g).reshape(-1) for g in gt_matches]) \
        if num_images else np.zeros(0)
    sc = np.concatenate([np.asarray(s, np.float64).reshape(-1)
                         for s in dt_scores]) if num_images else np.zeros(0)
    dm = np.concatenate([np.asarray(m).reshape(-1) for m in dt_matches]) \
        if num_images else np.zeros(0)
    num_gt = int(np.sum(gm != -1))
    keep = dm != -1
    sc, dm = sc[keep], dm[keep]
    order = np.argsort(-sc, kind='stable')
    sc, tp = sc[order], (dm[order] == 1)
    fp = np.cumsum(~tp)
    tp = np.cumsum(tp)
    fppi = fp / max(num_images, 1)
    recall = tp / num_gt if num_gt > 0 else np.full(len(tp), np.nan)
    return dict(fppi=fppi, recall=recall, scores=sc, num_gt=num_gt,
                num_images=num_images)


def log_average_miss_rate(fppi: np.ndarray, recall: np.ndarray,
                          ref: Sequence[float] = MR2_FPPI_POINTS
                          ) -> Tuple[float, np.ndarray]:
    """Log-average miss rate of an FPPI/recall curve.

    At each reference FPPI the recall of the last curve point with
    ``fppi <= ref`` is taken (0 when there is none, i.e. 100 % miss).

    Returns:
        ``(mr, miss_at_ref)``, both as fractions in [0, 1].
    """
    fppi = np.asarray(fppi, np.float64)
    recall = np.asarray(recall, np.float64)
    xs = np.concatenate([[-np.inf], fppi])
    ys = np.concatenate([[0.0], recall])
    ref = np.asarray(ref, np.float64)
    # fppi is non-decreasing: the last index with xs <= r
    idx = np.searchsorted(xs, ref, side='right') - 1
    miss = 1.0 - ys[idx]
    mr = float(np.exp(np.mean(np.log(np.maximum(_MIN_MISS, miss)))))
    return mr, miss


def kaist_miss_rate(gts: Sequence[np.ndarray], dts: Sequence[np.ndarray],
                    iou_thr: float = 0.5,
                    ref: Sequence[float] = MR2_FPPI_POINTS,
                    multi_match: bool = False) -> Dict:
    """MR^-2 of detections ``dts`` against ground truth ``gts``.

    Args:
        gts: per frame (M, 5) ``[x, y, w, h, ignore]``.
        dts: per frame (N, 5) ``[x, y, w, h, score]`` (same frame order).

    Returns:
        dict with ``mr`` (fraction; NaN when there is no non-ignored
        ground truth), ``miss_at_ref``, ``fppi``, ``recall``, ``num_gt``,
        ``num_images``, ``num_dets``.
    """
    if len(gts) != len(dts):
        raise ValueError(f'kaist_miss_rate: {len(gts)} ground-truth frames '
                         f'but {len(dts)} detection frames')
    gms: List[np.ndarray] = []
    scores: List[np.ndarray] = []
    dms: List[np.ndarray] = []
    for gt, dt in zip(gts, dts):
        dt = _as_boxes(dt, 5, 'dt')
        gm, dm = match_frame(gt, dt, iou_thr, multi_match)
        gms.append(gm)
        scores.append(dt[:, 4])
        dms.append(dm)
    roc = roc_curve(gms, scores, dms)
    if roc['num_gt'] == 0:
        mr, miss = float('nan'), np.full(len(ref), np.nan)
    else:
        mr, miss = log_average_miss_rate(roc['fppi'], roc['recall'], ref)
    return dict(mr=mr, miss_at_ref=miss, fppi=roc['fppi'],
                recall=roc['recall'], num_gt=roc['num_gt'],
                num_images=roc['num_images'],
                num_dets=int(sum(len(s) for s in scores)))
