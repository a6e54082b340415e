"""Pictures of a detector's output on a few KAIST frames: ground truth on
the left, predictions on the right (MMDetection's ``DetLocalVisualizer``),
with a caption naming the image type, frame and score threshold."""
import itertools
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import mmcv
import numpy as np
import torch
from mmengine.dataset import pseudo_collate

from msfam_mm.datasets.kaist.frame_ids import img_id_to_frame
from msfam_mm.utils.atomic_io import write_bytes_atomic

__all__ = ['spread_indices', 'draw_detection_frames']

#: Height in pixels of the caption band above each picture.
CAPTION_HEIGHT = 26
_instances = itertools.count()


def spread_indices(length: int, count: int) -> List[int]:
    """``count`` indices spread evenly over ``range(length)``, first and
    last included (fewer when ``length < count``).

    Example:
        >>> spread_indices(10, 4)
        [0, 3, 6, 9]
    """
    if length <= 0 or count <= 0:
        return []
    if count == 1:
        return [0]
    return sorted({int(round(v))
                   for v in np.linspace(0, length - 1, min(count, length))})


def _caption(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` (RGB, ground truth | predictions side by side) with a white
    line between the halves, under a white band with ``text`` in black
    (smaller type when it would not fit)."""
    image = image.copy()
    mid = image.shape[1] // 2
    image[:, mid - 1:mid + 1] = 255
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.5
    width = cv2.getTextSize(text, font, scale, 1)[0][0]
    scale *= min(1.0, (image.shape[1] - 12) / max(width, 1))
    band = np.full((CAPTION_HEIGHT, image.shape[1], 3), 255, np.uint8)
    cv2.putText(band, text, (6, CAPTION_HEIGHT - 8), font, scale, (0, 0, 0),
                1, cv2.LINE_AA)
    return np.concatenate([band, image], axis=0)


def draw_detection_frames(model: torch.nn.Module,
                          dataset,
                          out_dir: str,
                          label: str,
                          num_frames: int = 4,
                          score_thr: float = 0.3,
                          indices: Optional[Sequence[int]] = None
                          ) -> List[str]:
    """Run ``model`` on a few frames of ``dataset`` and draw GT + predictions.

    Args:
        model: an MMDetection detector (not a DDP wrapper), on its device.
        dataset: the test dataset (its pipeline must load the annotations:
            ``gt_instances`` are drawn on the left half).
        out_dir: folder for ``<setXX>_<VYYY>_<IZZZZZ>.png``.
        label: image type named in the caption (e.g. ``lwir``).
        num_frames: frames spread evenly over the dataset (day and night
            frames of a KAIST list both appear).
        score_thr: predictions below this score are not drawn.
        indices: dataset indices to draw instead of ``num_frames`` spread.

    Returns:
        The written paths (PNG, written atomically).
    """
    from mmdet.visualization import DetLocalVisualizer

    if indices is None:
        indices = spread_indices(len(dataset), num_frames)
    # A visualizer of our own without backends: nothing else is written.
    name = f'kaist_frames_{label}_{next(_instances)}'
    visualizer = DetLocalVisualizer(name=name)
    visualizer.dataset_meta = dataset.metainfo
    was_training = model.training
    model.eval()
    paths = []
    try:
        for idx in indices:
            batch = pseudo_collate([dataset[idx]])
            with torch.no_grad():
                sample = model.test_step(batch)[0]
            image = mmcv.imread(sample.img_path, channel_order='rgb')
            frame = img_id_to_frame(int(sample.img_id))
            visualizer.add_datasample(
                frame, image, data_sample=sample.cpu(), draw_gt=True,
                draw_pred=True, show=False, pred_score_thr=score_thr)
            drawn = _caption(
                visualizer.get_image(),
                f'{label} {frame} | left: ground truth | right: '
                f'predictions, score >= {score_thr:g}')
            ok, data = cv2.imencode('.png', drawn[..., ::-1])
            if not ok:
                raise RuntimeError(f'could not encode the picture of {frame}')
            path = osp.join(out_dir, frame.replace('/', '_') + '.png')
            write_bytes_atomic(path, data.tobytes())
            paths.append(path)
    finally:
        model.train(was_training)
    return paths
