#!/usr/bin/env python
"""Score any detector's output on KAIST: MR^-2 (all/day/night) and COCO AP.

Ground truth: a tools/kaist2coco.py json (--ann ANN.json), or a KAIST root
(--ann KAIST_ROOT --image-set LIST). Detections: COCO results json, a list of
{image_id, bbox [x, y, w, h], score, category_id} with image ids from
msfam_mm's frame-id mapping (set*1e7 + video*1e5 + frame; "frame_id":
"setXX/VYYY/IZZZZZ" may be given instead of image_id). Results from other
codebases can thus be scored the same way. See docs/kaist.md.

Usage:
    python tools/eval_kaist.py --ann test-all-20.json --det dets.json
    python tools/eval_kaist.py --ann KAIST_ROOT \
        --image-set imageSets/test-all-20.txt --det dets.json \
        [--json-out r.json]
"""
import argparse
import json
import math
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='KAIST MR^-2 and COCO AP.')
    p.add_argument('--ann', required=True,
                   help='kaist2coco json, or KAIST root with --image-set')
    p.add_argument('--image-set', help='frame list (with a KAIST root)')
    p.add_argument('--ann-subdir', default='annotations')
    p.add_argument('--det', required=True, help='COCO results json')
    p.add_argument('--min-height', type=float, default=55.0,
                   help='reasonable height threshold in px (55 on 512-px '
                   'frames; scale for other sizes)')
    p.add_argument('--iou-thr', type=float, default=0.5)
    p.add_argument('--matlab-offset', action='store_true',
                   help='add 1 px to detection x/y like the KAIST MATLAB '
                   'devkit wrapper')
    p.add_argument('--category-id', type=int, default=None,
                   help='keep only detections of this category id (and '
                   'entries without category_id); default: all. '
                   'MMDetection results of KAISTDataset use 0, kaist2coco 1')
    p.add_argument('--json-out', help='also write the numbers as json')
    return p.parse_args(argv)


def load_detections(path, category_id):
    """COCO results list -> ({img_id: [[x, y, w, h, s], ...]}, results)."""
    from msfam_mm.datasets.kaist.frame_ids import frame_to_img_id
    if not osp.isfile(path):
        raise FileNotFoundError(f'detection file {path} does not exist')
    with open(path, encoding='utf-8') as f:
        try:
            dets = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: invalid json ({err})') from None
    if not isinstance(dets, list):
        raise ValueError(f'{path}: expected a COCO results list, got '
                         f'{type(dets).__name__}')
    per_image, results = {}, []
    for k, det in enumerate(dets):
        try:
            if 'image_id' in det:
                img_id = int(det['image_id'])
            else:
                img_id = frame_to_img_id(det['frame_id'])
            x, y, w, h = (float(v) for v in det['bbox'])
            score = float(det['score'])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f'{path}: entry {k} is not a COCO detection '
                             f'(image_id, bbox [x,y,w,h], score): {err}') \
                from None
        if category_id is not None and int(
                det.get('category_id', category_id)) != category_id:
            continue
        per_image.setdefault(img_id, []).append([x, y, w, h, score])
        results.append(dict(image_id=img_id, bbox=[x, y, w, h], score=score,
                            category_id=1))
    return per_image, results


def main(argv=None):
    args = parse_args(argv)
    from msfam_mm.datasets.kaist.coco_format import kaist_to_coco
    from msfam_mm.datasets.kaist.frame_ids import read_image_set
    from msfam_mm.evaluation.kaist import (coco_ap, evaluate_miss_rates,
                                           evaluation_setting,
                                           load_gt_from_coco)
    try:
        if osp.isdir(args.ann):
            if not args.image_set:
                raise ValueError('--image-set is required when --ann is a '
                                 'KAIST root')
            image_set = args.image_set if osp.isabs(args.image_set) else \
                osp.join(args.ann, args.image_set)
            coco = kaist_to_coco(args.ann, read_image_set(image_set),
                                 args.ann_subdir)
        else:
            with open(args.ann, encoding='utf-8') as f:
                coco = json.load(f)
        gt = load_gt_from_coco(coco)
        per_image, results = load_detections(args.det, args.category_id)
    except (OSError, ValueError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    unknown = sorted(set(per_image) - set(gt))
    if unknown:
        print(f'warning: {len(unknown)} detected image ids are not in the '
              f'ground truth and are skipped (e.g. {unknown[:3]})',
              file=sys.stderr)
        results = [r for r in results if r['image_id'] in gt]
    setting = evaluation_setting(min_height=args.min_height)
    mr = evaluate_miss_rates(gt, per_image, setting, iou_thr=args.iou_thr,
                             dt_offset=1.0 if args.matlab_offset else 0.0)
    ap = coco_ap(coco, results)
    report = {f'MR-2_{k}': v['mr'] * 100 for k, v in mr.items()}
    report.update({k: v * 100 for k, v in ap.items()})
    print(f'KAIST evaluation of {args.det}: {len(gt)} frames, '
          f'{len(results)} detections')
    print(f'Log-average miss rate MR^-2 (reasonable: person, h >= '
          f'{args.min_height:g} px, occlusion none/partial, 5-px border), '
          f'lower is better:')
    for k, v in mr.items():
        print(f'  {k:6s} {v["mr"] * 100:6.2f} %   ({v["num_images"]} frames,'
              f' {v["num_gt"]} persons)')
    print('COCO bbox AP in % (all person boxes; people/cyclist/person? are '
          'crowd regions), higher is better:')
    for k in ('AP', 'AP50', 'AP75', 'AP_S', 'AP_M', 'AP_L'):
        v = ap[k] * 100
        print(f'  {k:6s} {"n/a" if math.isnan(v) else f"{v:6.2f} %"}')
    if args.json_out:
        from msfam_mm.utils import write_text_atomic
        # strict JSON: null where there is no value (no such boxes)
        strict = {k: None if isinstance(v, float) and math.isnan(v) else v
                  for k, v in report.items()}
        write_text_atomic(args.json_out, json.dumps(strict, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
