"""KAIST Multispectral Pedestrian data: bbGt parsing, frame ids, the folder
layout, COCO conversion and the synthetic toy KAIST (pure Python; the
MMDetection dataset is :class:`msfam_mm.detection.KAISTDataset`)."""
from .bbgt import (KAIST_IGNORE_LABELS, KAIST_OCCLUSION_LEVELS,
                   KAIST_PERSON_LABELS, REASONABLE, BBGtObject,
                   bbgt_ignore_flags, load_bbgt, parse_bbgt_lines,
                   reasonable_filter_kwargs)
from .frame_ids import (KAIST_NIGHT_SETS, format_frame_id, frame_condition,
                        frame_to_img_id, img_id_to_frame, normalize_frame_id,
                        parse_frame_id, read_image_set)
from .layout import (KAIST_IMAGE_EXTS, KAIST_IMAGE_SIZE,
                     kaist_annotation_path, resolve_kaist_image)
from .coco_format import (coco_to_kaist_frames, kaist_to_coco,
                          read_image_header_size)
from .toy_kaist import make_toy_kaist

__all__ = [
    'BBGtObject', 'parse_bbgt_lines', 'load_bbgt',
    'bbgt_ignore_flags', 'REASONABLE', 'KAIST_PERSON_LABELS',
    'KAIST_IGNORE_LABELS', 'KAIST_OCCLUSION_LEVELS', 'KAIST_NIGHT_SETS',
    'parse_frame_id', 'format_frame_id', 'normalize_frame_id',
    'frame_to_img_id', 'img_id_to_frame', 'frame_condition',
    'read_image_set', 'KAIST_IMAGE_EXTS', 'KAIST_IMAGE_SIZE',
    'kaist_annotation_path', 'resolve_kaist_image', 'read_image_header_size',
    'kaist_to_coco', 'coco_to_kaist_frames',
    'reasonable_filter_kwargs', 'make_toy_kaist'
]
