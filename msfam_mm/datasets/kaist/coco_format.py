"""KAIST <-> COCO json, keeping KAIST's extra fields.

``kaist_to_coco`` turns frames of the official layout into a COCO detection
dict usable by MMDetection's ``CocoDataset``/``CocoMetric`` and pycocotools,
and ``coco_to_kaist_frames`` reads it back for the miss-rate protocol.

Conventions (docs/kaist.md):

* one category, ``{'id': 1, 'name': 'person'}``;
* image ``id`` is :func:`frame_to_img_id` of the frame (shared with
  ``KAISTDataset``), ``file_name`` is relative to the KAIST root
  (``images/setXX/VYYY/<modality>/IZZZZZ.<ext>``), plus ``frame_id`` and
  ``condition`` (day/night);
* every object kept by the KAIST filter becomes an annotation with
  ``bbox`` ``[x, y, w, h]``, ``area = w * h``, ``category_id`` 1 and
  ``iscrowd`` 1 for ignore regions (``people`` / ``cyclist`` / ``person?``,
  the file's ``ign`` flag, and persons failing the optional reasonable
  filter) -- pycocotools and MMDetection both treat crowd boxes as ignore
  regions (a detection inside one is neither a TP nor an FP). The key
  ``ignore`` is *not* used: MMDetection's ``CocoDataset`` would drop such
  boxes entirely;
* KAIST extras: ``kaist_label``, ``occlusion``, ``height`` (box height in
  px), ``kaist_ignore`` (the file's ``ign`` column), ``visible_bbox``.

Example:
    >>> coco = kaist_to_coco('data/kaist',
    ...                      ['set06/V000/I00019'])  # doctest: +SKIP
    >>> coco['images'][0]['id']  # doctest: +SKIP
    60000019
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from .bbgt import (BBGtObject, bbgt_ignore_flags, load_bbgt,
                   reasonable_filter_kwargs, record_occlusion)
from .frame_ids import frame_condition, frame_to_img_id, normalize_frame_id
from .layout import (KAIST_IMAGE_EXTS, KAIST_IMAGE_SIZE, kaist_annotation_path,
                     kaist_image_path)

#: KAIST frame size (W, H), used when no image is available to read.
DEFAULT_IMAGE_SIZE = KAIST_IMAGE_SIZE
PERSON_CATEGORY = {'id': 1, 'name': 'person', 'supercategory': 'person'}


def read_image_header_size(path: str) -> Tuple[int, int]:
    """``(W, H)`` of an image file, reading only its header (PIL)."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            return img.size
    except Exception as err:
        raise ValueError(f'cannot read image header of {path}: {err}') \
            from None


def kaist_to_coco(data_root: str,
                  frames: Sequence[str],
                  ann_subdir: str = 'annotations',
                  modality: str = 'visible',
                  img_subdir: str = 'images',
                  reasonable_filter: Optional[dict] = None,
                  image_size: Optional[Sequence[int]] = None,
                  require_images: bool = False) -> Dict:
    """COCO dict of ``frames`` read from a KAIST root.

    Args:
        data_root: KAIST root.
        frames: frame ids (``setXX/VYYY/IZZZZZ``).
        modality: image folder recorded in ``file_name``.
        reasonable_filter: as ``KAISTDataset``'s; persons failing it become
            ``iscrowd`` regions. ``None`` keeps every person box.
        image_size: ``(W, H)`` for frames whose image is absent (default
            640x512). Present images give their own size.
        require_images: raise if a frame's image is missing (default: write
            a ``.jpg`` file name, so annotation-only releases convert).
    """
    filter_kwargs = reasonable_filter_kwargs(reasonable_filter)
    default_size = tuple(image_size) if image_size else DEFAULT_IMAGE_SIZE
    images: List[Dict] = []
    annotations: List[Dict] = []
    for frame in frames:
        frame = normalize_frame_id(frame)
        ann_path = kaist_annotation_path(data_root, frame, ann_subdir)
        stem = kaist_image_path('', frame, modality, img_subdir=img_subdir)
        file_name, size = stem + KAIST_IMAGE_EXTS[0], default_size
        for ext in KAIST_IMAGE_EXTS:
            if osp.isfile(osp.join(data_root, stem + ext)):
                file_name = stem + ext
                size = read_image_header_size(osp.join(data_root, file_name))
                break
        else:
            if require_images:
                raise FileNotFoundError(
                    f'KAIST image {osp.join(data_root, stem)}.{{jpg,png}} '
                    f'does not exist (frame {frame})')
        img_id = frame_to_img_id(frame)
        images.append(dict(id=img_id, file_name=file_name,
                           width=int(size[0]), height=int(size[1]),
                           frame_id=frame, condition=frame_condition(frame)))
        objects = load_bbgt(ann_path)
        keep, ignore = bbgt_ignore_flags(objects, size, **filter_kwargs)
        for obj, kept, ign in zip(objects, keep, ignore):
            if not kept:
                continue
            annotations.append(dict(
                id=len(annotations) + 1, image_id=img_id, category_id=1,
                bbox=[obj.x, obj.y, obj.w, obj.h], area=obj.w * obj.h,
                iscrowd=int(bool(ign)), kaist_label=obj.label,
                occlusion=obj.occlusion, height=obj.h,
                kaist_ignore=obj.ignore, visible_bbox=list(obj.visible_box)))
    return dict(
        info=dict(description='KAIST Multispectral Pedestrian annotations '
                  'converted by msfam_mm (tools/kaist2coco.py)',
                  modality=modality, reasonable_filter=reasonable_filter),
        images=images, annotations=annotations,
        categories=[dict(PERSON_CATEGORY)])


def coco_to_kaist_frames(coco: Dict, source: str = '<COCO dict>'
                         ) -> Dict[int, Tuple[str, Tuple[int, int],
                                              List[BBGtObject]]]:
    """Read a (kaist2coco) COCO dict back as KAIST frames.

    Returns:
        ``{img_id: (frame_id, (W, H), [BBGtObject, ...])}``. Annotations
        without KAIST extras (a plain COCO json) count as ``person`` when
        ``iscrowd`` is 0 and as an ignore region (``people``) otherwise.
    """
    for key in ('images', 'annotations'):
        if key not in coco:
            raise ValueError(f'{source}: not a COCO detection json '
                             f'(no {key!r} key)')
    frames = {}
    for img in coco['images']:
        try:
            img_id = int(img['id'])
            size = (int(img['width']), int(img['height']))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f'{source}: image entry needs id, width and '
                             f'height: {img!r}') from None
        frames[img_id] = (img.get('frame_id', str(img_id)), size, [])
    for ann in coco['annotations']:
        img_id = int(ann.get('image_id', -1))
        if img_id not in frames:
            raise ValueError(f'{source}: annotation {ann.get("id")} refers '
                             f'to unknown image_id {img_id}')
        try:
            x, y, w, h = (float(v) for v in ann['bbox'])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f'{source}: annotation {ann.get("id")} has no '
                             'valid bbox [x, y, w, h]') from None
        crowd = int(ann.get('iscrowd', 0))
        label = ann.get('kaist_label', 'people' if crowd else 'person')
        frames[img_id][2].append(BBGtObject(
            label, x, y, w, h, record_occlusion(ann, label, source),
            tuple(ann.get('visible_bbox', (0., 0., 0., 0.))),
            int(ann.get('kaist_ignore', 0))))
    return frames
