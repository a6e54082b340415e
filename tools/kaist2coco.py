#!/usr/bin/env python
"""Convert KAIST annotations (official layout, bbGt text) to COCO json.

The json keeps KAIST's extras (kaist_label, occlusion, height, kaist_ignore,
visible_bbox); ignore regions (people / cyclist / person? and, with
--reasonable, persons outside the reasonable setting) get iscrowd=1. Image
ids follow msfam_mm's frame-id mapping (set*1e7 + video*1e5 + frame), shared
with KAISTDataset and tools/eval_kaist.py. See docs/kaist.md.

Usage:
    python tools/kaist2coco.py KAIST_ROOT \
        --image-set imageSets/test-all-20.txt --out test-all-20.json \
        [--modality lwir] [--reasonable]
"""
import argparse
import json
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='KAIST layout -> COCO json.')
    p.add_argument('kaist_root', help='KAIST root (images/, annotations/, '
                   'imageSets/)')
    p.add_argument('--image-set', required=True,
                   help='frame list, relative to KAIST_ROOT or absolute')
    p.add_argument('--out', required=True, help='output json path')
    p.add_argument('--ann-subdir', default='annotations')
    p.add_argument('--modality', default='visible',
                   help="image folder written in file_name (default visible)")
    p.add_argument('--reasonable', action='store_true',
                   help='mark persons outside the reasonable setting '
                   '(h>=55, occlusion none/partial, 5-px border) iscrowd')
    p.add_argument('--require-images', action='store_true',
                   help='fail when a frame image is missing')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from msfam_mm.datasets.kaist.bbgt import REASONABLE
    from msfam_mm.datasets.kaist.coco_format import kaist_to_coco
    from msfam_mm.datasets.kaist.frame_ids import read_image_set
    image_set = args.image_set if osp.isabs(args.image_set) else osp.join(
        args.kaist_root, args.image_set)
    try:
        frames = read_image_set(image_set)
        coco = kaist_to_coco(args.kaist_root, frames, args.ann_subdir,
                             args.modality,
                             reasonable_filter=dict(REASONABLE)
                             if args.reasonable else None,
                             require_images=args.require_images)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    coco['info']['image_set'] = args.image_set
    coco['info']['reasonable_filter'] = bool(args.reasonable)
    # no half-written json on failure
    from msfam_mm.utils import write_text_atomic
    write_text_atomic(args.out, json.dumps(coco))
    labels = {}
    for ann in coco['annotations']:
        labels[ann['kaist_label']] = labels.get(ann['kaist_label'], 0) + 1
    crowd = sum(a['iscrowd'] for a in coco['annotations'])
    print(f"wrote {args.out}: {len(coco['images'])} frames, "
          f"{len(coco['annotations'])} boxes ({crowd} ignore regions); "
          f"labels {dict(sorted(labels.items()))}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
