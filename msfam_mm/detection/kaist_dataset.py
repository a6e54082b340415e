"""KAIST Multispectral Pedestrian dataset for MMDetection, read in place.

The paper evaluates the downstream value of MSFAM fusion by detecting
pedestrians on KAIST (Zheng et al., Sensors 2022, Section 4.6); this dataset
feeds any of KAIST's bands, or a fused band written beside them, to an
MMDetection detector.

Layout: the official KAIST one (:mod:`msfam_mm.datasets.kaist.layout`).

Instances (MMDetection data-info convention):

* ``bbox`` ``[x1, y1, x2, y2]``, ``bbox_label`` 0 (``person``),
* ``ignore_flag`` 1 for ``people`` / ``cyclist`` / ``person?`` boxes, for
  boxes whose bbGt ``ign`` column is set, for degenerate boxes (w or h
  < 1 px) and, when ``reasonable_filter`` is given, for ``person`` boxes that
  fail it (too small, too occluded, touching the border); 0 otherwise,
* KAIST extras ``kaist_label`` and ``occlusion`` (0 none, 1 partial,
  2 heavy).

Objects with any other label are dropped, as the KAIST devkit does.
MMDetection's ``PackDetInputs`` moves ``ignore_flag`` boxes to
``data_sample.ignored_instances``; dense heads pass them to their assigner as
``gt_instances_ignore`` (see docs/kaist.md for what GFL/ATSS do with them).
"""
import os.path as osp
from typing import List, Optional, Sequence

from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS

from msfam_mm.datasets.kaist import (bbgt_ignore_flags, frame_condition,
                                     frame_to_img_id, kaist_annotation_path,
                                     load_bbgt, read_image_header_size,
                                     read_image_set, reasonable_filter_kwargs,
                                     resolve_kaist_image)


@DATASETS.register_module()
class KAISTDataset(BaseDetDataset):
    """KAIST pedestrians from the official folder layout (no conversion).

    Args:
        data_root (str): KAIST root (holding ``images/``, ``annotations/``,
            ``imageSets/``).
        image_set (str): frame list relative to ``data_root`` (or absolute),
            e.g. ``'imageSets/test-all-20.txt'``.
        modality (str): image folder inside each video: ``'visible'``
            (colour), ``'lwir'`` (grey stored as 3 channels) or any fused
            folder such as ``'fused_msfam'`` written by
            ``tools/fuse_kaist.py`` (same annotations). Defaults to
            ``'visible'``.
        ann_subdir (str): annotation folder under ``data_root``.
            Defaults to ``'annotations'``.
        img_subdir (str): image folder under ``data_root``.
            Defaults to ``'images'``.
        reasonable_filter (dict, optional): drop (mark ``ignore_flag``)
            ``person`` boxes outside a "reasonable" setting, e.g.
            ``dict(min_height=50)`` merged over
            ``dict(min_height=55, occlusions=(0, 1), border=5)``. ``None``
            (default) keeps every ``person`` box as a target.
        image_size (tuple, optional): ``(W, H)`` of every frame; ``None``
            (default) reads each image's header.
        **kwargs: :class:`mmdet.datasets.BaseDetDataset` arguments
            (``pipeline``, ``test_mode``, ``filter_cfg`` with
            ``filter_empty_gt`` / ``min_size``, ...).

    Example:
        >>> ds = KAISTDataset(data_root='data/kaist',
        ...                   image_set='imageSets/test-all-20.txt',
        ...                   modality='lwir', test_mode=True)
        >>> info = ds.get_data_info(0)
        >>> info['img_id'], info['instances'][0]['bbox']  # doctest: +SKIP
    """

    METAINFO = dict(classes=('person', ), palette=[(220, 20, 60)])

    def __init__(self,
                 data_root: str,
                 image_set: str,
                 modality: str = 'visible',
                 ann_subdir: str = 'annotations',
                 img_subdir: str = 'images',
                 reasonable_filter: Optional[dict] = None,
                 image_size: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        if 'ann_file' in kwargs:
            raise ValueError('KAISTDataset: pass the frame list as '
                             '`image_set`, not `ann_file`')
        if not isinstance(modality, str) or not modality or \
                any(sep in modality for sep in ('/', '\\')) or \
                modality in ('.', '..'):
            raise ValueError('KAISTDataset: modality must be one folder name '
                             "such as 'visible', 'lwir' or 'fused_msfam', "
                             f'got {modality!r}')
        if not data_root or not osp.isdir(data_root):
            raise FileNotFoundError(
                f'KAISTDataset: data_root {data_root!r} is not a directory')
        if image_size is not None:
            if len(image_size) != 2 or min(int(v) for v in image_size) < 1:
                raise ValueError('KAISTDataset: image_size must be (W, H) '
                                 f'with positive values, got {image_size!r}')
            image_size = (int(image_size[0]), int(image_size[1]))
        self.modality = modality
        self.ann_subdir = ann_subdir
        self.img_subdir = img_subdir
        self.reasonable_filter = reasonable_filter
        self._filter_kwargs = reasonable_filter_kwargs(reasonable_filter)
        self.image_size = image_size
        super().__init__(ann_file=image_set, data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One data info per frame of ``image_set`` (see class docstring)."""
        frames = read_image_set(self.ann_file)
        return [self._load_frame(frame) for frame in frames]

    def _load_frame(self, frame: str) -> dict:
        img_path = resolve_kaist_image(self.data_root, frame, self.modality,
                                       self.img_subdir)
        width, height = self.image_size or read_image_header_size(img_path)
        objects = load_bbgt(
            kaist_annotation_path(self.data_root, frame, self.ann_subdir))
        keep, ignore = bbgt_ignore_flags(objects, (width, height),
                                         **self._filter_kwargs)
        instances = []
        for obj, kept, ign in zip(objects, keep, ignore):
            if not kept:
                continue
            degenerate = obj.w < 1 or obj.h < 1
            instances.append(
                dict(bbox=obj.xyxy(), bbox_label=0,
                     ignore_flag=int(bool(ign) or degenerate),
                     kaist_label=obj.label, occlusion=obj.occlusion))
        return dict(img_path=img_path, img_id=frame_to_img_id(frame),
                    frame_id=frame, condition=frame_condition(frame),
                    modality=self.modality, height=int(height),
                    width=int(width), instances=instances)

    def filter_data(self) -> List[dict]:
        """Apply ``filter_cfg`` (``filter_empty_gt``, ``min_size``).

        ``filter_empty_gt`` drops training frames without a single
        non-ignored ``person`` box (MMDetection's convention); nothing is
        filtered in ``test_mode``.
        """
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        kept = []
        for info in self.data_list:
            if min(info['width'], info['height']) < min_size:
                continue
            if filter_empty_gt and not any(
                    inst['ignore_flag'] == 0 for inst in info['instances']):
                continue
            kept.append(info)
        return kept
