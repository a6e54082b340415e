"""The KAIST benchmark protocol around :mod:`.miss_rate`.

Loads ground truth (official layout or kaist2coco json), applies the
evaluated setting (default: "reasonable" -- ``person``, height >= 55 px,
occlusion none/partial, boxes inside the 5-px border; ``people`` /
``person?`` / ``cyclist`` are ignore regions) and computes MR^-2 for all
frames and the day/night subsets. Shared by ``KAISTMissRateMetric`` and
``tools/eval_kaist.py`` so both report identical numbers.

Example:
    >>> frames = read_image_set(
    ...     'data/kaist/imageSets/test-all-20.txt')  # doctest: +SKIP
    >>> gt = load_gt_from_layout('data/kaist', frames)  # doctest: +SKIP
    >>> res = evaluate_miss_rates(gt, dets)  # doctest: +SKIP
    >>> res['all']['mr']  # doctest: +SKIP
"""
import json
import math
import os.path as osp
from typing import Dict, Iterable, List, Mapping, NamedTuple, Optional, \
    Sequence, Tuple

import numpy as np

from msfam_mm.datasets.kaist.bbgt import (KAIST_IGNORE_LABELS,
                                          KAIST_PERSON_LABELS, REASONABLE,
                                          BBGtObject, bbgt_ignore_flags,
                                          load_bbgt)
from msfam_mm.datasets.kaist.coco_format import (DEFAULT_IMAGE_SIZE,
                                                 coco_to_kaist_frames,
                                                 read_image_header_size)
from msfam_mm.datasets.kaist.frame_ids import (frame_condition,
                                               frame_to_img_id,
                                               img_id_to_frame,
                                               normalize_frame_id)
from msfam_mm.datasets.kaist.layout import (kaist_annotation_path,
                                            resolve_kaist_image)
from .miss_rate import MR2_FPPI_POINTS, kaist_miss_rate


class KAISTFrameGT(NamedTuple):
    """Ground truth of one frame: id, size ``(W, H)`` and bbGt objects."""
    frame_id: str
    img_size: Tuple[int, int]
    objects: List[BBGtObject]


def evaluation_setting(min_height: float = REASONABLE['min_height'],
                       max_height: float = REASONABLE['max_height'],
                       occlusions: Optional[Sequence[int]] = REASONABLE[
                           'occlusions'],
                       border: Optional[float] = REASONABLE['border']
                       ) -> Dict:
    """Keyword arguments of ``bbgt_ignore_flags`` for an evaluated setting
    (defaults: KAIST "reasonable")."""
    if min_height < 0 or max_height < min_height:
        raise ValueError(f'invalid height range [{min_height}, {max_height}]')
    return dict(labels=KAIST_PERSON_LABELS, ignore_labels=KAIST_IGNORE_LABELS,
                min_height=float(min_height), max_height=float(max_height),
                occlusions=None if occlusions is None else tuple(
                    int(o) for o in occlusions),
                border=None if border is None else float(border))


def gt_array(frame: KAISTFrameGT, setting: Mapping) -> np.ndarray:
    """(M, 5) ``[x, y, w, h, ignore]`` of one frame under ``setting``;
    objects of unknown labels are dropped (KAIST devkit)."""
    keep, ignore = bbgt_ignore_flags(frame.objects, frame.img_size, **setting)
    rows = [[o.x, o.y, o.w, o.h, float(i)]
            for o, k, i in zip(frame.objects, keep, ignore) if k]
    return np.asarray(rows, np.float64).reshape(-1, 5)


def load_gt_from_layout(data_root: str, frames: Iterable[str],
                        ann_subdir: str = 'annotations',
                        image_size: Optional[Sequence[int]] = None,
                        size_from: Sequence[str] = ('visible', 'lwir'),
                        img_subdir: str = 'images'
                        ) -> Dict[int, KAISTFrameGT]:
    """Ground truth of ``frames`` from the official layout.

    The frame size (for the border rule) is ``image_size`` if given, else
    read from the header of the first existing image among ``size_from``
    modalities, else KAIST's 640x512 (annotation-only releases).
    """
    out: Dict[int, KAISTFrameGT] = {}
    for frame in frames:
        frame = normalize_frame_id(frame)
        objects = load_bbgt(kaist_annotation_path(data_root, frame,
                                                  ann_subdir))
        size = tuple(image_size) if image_size else None
        if size is None:
            for modality in size_from:
                try:
                    path = resolve_kaist_image(data_root, frame, modality,
                                               img_subdir)
                except FileNotFoundError:
                    continue
                size = read_image_header_size(path)
                break
        out[frame_to_img_id(frame)] = KAISTFrameGT(
            frame, tuple(size or DEFAULT_IMAGE_SIZE), objects)
    return out


def load_gt_from_coco(coco) -> Dict[int, KAISTFrameGT]:
    """Ground truth from a kaist2coco json (path or loaded dict)."""
    source = '<COCO dict>'
    if isinstance(coco, str):
        source = coco
        if not osp.isfile(coco):
            raise FileNotFoundError(f'annotation json {coco} does not exist')
        with open(coco, encoding='utf-8') as f:
            try:
                coco = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f'{source}: invalid json ({err})') from None
    frames = coco_to_kaist_frames(coco, source)
    return {k: KAISTFrameGT(*v) for k, v in frames.items()}


def default_subsets(img_ids: Iterable[int]) -> Dict[str, List[int]]:
    """``all`` / ``day`` / ``night`` by KAIST set number."""
    ids = list(img_ids)
    cond = {i: frame_condition(img_id_to_frame(i)) for i in ids}
    return dict(all=ids, day=[i for i in ids if cond[i] == 'day'],
                night=[i for i in ids if cond[i] == 'night'])


def evaluate_miss_rates(gt_frames: Mapping[int, KAISTFrameGT],
                        dets: Mapping[int, np.ndarray],
                        setting: Optional[Mapping] = None,
                        subsets: Optional[Mapping[str, Sequence[int]]] = None,
                        iou_thr: float = 0.5,
                        ref: Sequence[float] = MR2_FPPI_POINTS,
                        dt_offset: float = 0.0) -> Dict[str, Dict]:
    """MR^-2 per subset.

    Args:
        gt_frames: ``{img_id: KAISTFrameGT}``; every frame counts as an
            image (FPPI denominator) even without detections.
        dets: ``{img_id: (N, 5) [x, y, w, h, score]}``; frames missing here
            have no detections.
        setting: :func:`evaluation_setting` output (default reasonable).
        subsets: ``{name: [img_id, ...]}`` (default all/day/night by set).
        dt_offset: added to detection x and y (the KAIST MATLAB devkit's
            wrapper adds 1 to 0-based detections; 0 compares as given).

    Returns:
        ``{name: kaist_miss_rate(...) result}`` (``mr`` is a fraction,
        NaN for a subset without frames or without non-ignored persons).
    """
    setting = dict(setting or evaluation_setting())
    if subsets is None:
        subsets = default_subsets(gt_frames.keys())
    results = {}
    for name, ids in subsets.items():
        missing = [i for i in ids if i not in gt_frames]
        if missing:
            raise KeyError(f'subset {name!r}: {len(missing)} img_ids have '
                           f'no ground truth, e.g. {missing[:3]}')
        gts, dts = [], []
        for i in ids:
            gts.append(gt_array(gt_frames[i], setting))
            dt = np.asarray(dets.get(i, np.zeros((0, 5))), np.float64)
            dt = dt.reshape(-1, 5).copy()
            dt[:, :2] += dt_offset
            dts.append(dt)
        if not ids:
            results[name] = dict(mr=math.nan, miss_at_ref=np.full(
                len(ref), np.nan), fppi=np.zeros(0), recall=np.zeros(0),
                num_gt=0, num_images=0, num_dets=0)
            continue
        results[name] = kaist_miss_rate(gts, dts, iou_thr=iou_thr, ref=ref)
    return results
