#!/usr/bin/env python
"""Score any detector's output on KAIST: MR^-2 (all/day/night) and COCO AP.

Ground truth: a tools/kaist2coco.py json (--ann ANN.json), or a KAIST root
(--ann KAIST_ROOT --image-set LIST). Detections: COCO results json, a list of
{image_id, bbox [x, y, w, h], score, category_id} with image ids from
msfam_mm's frame-id mapping (set*1e7 + video*1e5 + frame; "frame_id":
"setXX/VYYY/IZZZZZ" may be given instead of image_id). Results from other
codebases can thus be scored the same way. See docs/kaist.md.

Several detection files (``--det LABEL=FILE``, repeated) are scored on the
same ground truth; ``--out-dir`` writes their table (``kaist_eval.md``,
``.csv``) and, next to it, the miss-rate-FPPI curves (all/day/night, one
line per file, MR^-2 in the legend: ``miss_rate_fppi.png``) and the
AP/AP_S/AP_M/AP_L bars (``ap_bars.png``).

Usage:
    python tools/eval_kaist.py --ann test-all-20.json --det dets.json
    python tools/eval_kaist.py --ann KAIST_ROOT \
        --image-set imageSets/test-all-20.txt --det dets.json \
        [--json-out r.json]
    python tools/eval_kaist.py --ann test-all-20.json \
        --det visible=vis.bbox.json --det msfam=msfam.bbox.json \
        --out-dir work_dirs/kaist_eval
"""
import argparse
import json
import math
import os.path as osp
import re
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='KAIST MR^-2 and COCO AP.')
    p.add_argument('--ann', required=True,
                   help='kaist2coco json, or KAIST root with --image-set')
    p.add_argument('--image-set', help='frame list (with a KAIST root)')
    p.add_argument('--ann-subdir', default='annotations')
    p.add_argument('--det', required=True, action='append',
                   metavar='[LABEL=]FILE',
                   help='COCO results json; repeat to compare several on '
                   'the same ground truth (LABEL names the row and the '
                   'curve; default: the file name without .json)')
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
    p.add_argument('--json-out', help='also write the numbers as json (one '
                   '--det: flat; several: one object per label)')
    p.add_argument('--out-dir',
                   help='write kaist_eval.md/.csv (one row per --det), '
                   'miss_rate_fppi.png and ap_bars.png here')
    return p.parse_args(argv)


LABEL = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')


def parse_det(spec):
    """``[LABEL=]FILE`` -> (label, file); the label defaults to the file
    name without ``.json`` (``.bbox.json`` as MMDetection writes it)."""
    label, sep, path = spec.partition('=')
    if not sep or not LABEL.match(label) or osp.isfile(spec):
        path = spec
        label = re.sub(r'(\.bbox)?\.json$', '', osp.basename(spec)) or spec
    return label, path


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


def score(gt, coco, det_path, args):
    """MR^-2 curves and COCO AP of one detection file:
    (miss-rate results per subset, AP dict, number of detections)."""
    from msfam_mm.evaluation.kaist import (coco_ap, evaluate_miss_rates,
                                           evaluation_setting)
    per_image, results = load_detections(det_path, args.category_id)
    unknown = sorted(set(per_image) - set(gt))
    if unknown:
        print(f'warning: {det_path}: {len(unknown)} detected image ids are '
              f'not in the ground truth and are skipped (e.g. '
              f'{unknown[:3]})', file=sys.stderr)
        results = [r for r in results if r['image_id'] in gt]
    setting = evaluation_setting(min_height=args.min_height)
    mr = evaluate_miss_rates(gt, per_image, setting, iou_thr=args.iou_thr,
                             dt_offset=1.0 if args.matlab_offset else 0.0)
    return mr, coco_ap(coco, results), len(results)


def print_scores(det_path, num_frames, num_dets, mr, ap, min_height):
    print(f'KAIST evaluation of {det_path}: {num_frames} frames, '
          f'{num_dets} detections')
    print(f'Log-average miss rate MR^-2 (reasonable: person, h >= '
          f'{min_height:g} px, occlusion none/partial, 5-px border), '
          f'lower is better:')
    for k, v in mr.items():
        print(f'  {k:6s} {v["mr"] * 100:6.2f} %   ({v["num_images"]} frames,'
              f' {v["num_gt"]} persons)')
    print('COCO bbox AP in % (all person boxes; people/cyclist/person? are '
          'crowd regions), higher is better:')
    for k in ('AP', 'AP50', 'AP75', 'AP_S', 'AP_M', 'AP_L'):
        v = ap[k] * 100
        print(f'  {k:6s} {"n/a" if math.isnan(v) else f"{v:6.2f} %"}')


def write_outputs(out_dir, scored):
    """Table and figures of every scored file into ``out_dir``."""
    from msfam_mm.evaluation.kaist.detection_table import (COLUMNS,
                                                           format_csv,
                                                           format_markdown)
    from msfam_mm.utils import write_text_atomic
    from msfam_mm.visualization import (ap_bar_figure, miss_rate_figure,
                                        save_figure)
    columns = [c for c in COLUMNS if c[0] != 'images_per_s']
    rows = []
    for label, (mr, ap, _) in scored.items():
        row = dict(type=label, **{k: ap[k] for k in ap})
        row.update({f'MR-2_{k}': v['mr'] * 100 for k, v in mr.items()})
        rows.append(row)
    write_text_atomic(osp.join(out_dir, 'kaist_eval.md'), format_markdown(
        rows, columns, label_header='Detections', epoch_column=False))
    write_text_atomic(osp.join(out_dir, 'kaist_eval.csv'),
                      format_csv(rows, columns, epoch_column=False))
    curves = {label: mr for label, (mr, _, _) in scored.items()}
    save_figure(miss_rate_figure(
        curves, title='KAIST miss rate vs false positives per image'),
        osp.join(out_dir, 'miss_rate_fppi.png'))
    save_figure(ap_bar_figure(rows), osp.join(out_dir, 'ap_bars.png'))


def main(argv=None):
    args = parse_args(argv)
    from msfam_mm.datasets.kaist.coco_format import kaist_to_coco
    from msfam_mm.datasets.kaist.frame_ids import read_image_set
    from msfam_mm.evaluation.kaist import load_gt_from_coco
    dets = [parse_det(spec) for spec in args.det]
    labels = [label for label, _ in dets]
    if len(set(labels)) != len(labels):
        print(f'error: --det labels repeat: {", ".join(labels)} (name them '
              'with LABEL=FILE)', file=sys.stderr)
        return 2
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
        scored = {label: score(gt, coco, path, args) for label, path in dets}
    except (OSError, ValueError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    reports = {}
    for (label, path), (mr, ap, num_dets) in zip(dets, scored.values()):
        print_scores(path, len(gt), num_dets, mr, ap, args.min_height)
        report = {f'MR-2_{k}': v['mr'] * 100 for k, v in mr.items()}
        report.update({k: v * 100 for k, v in ap.items()})
        # strict JSON: null where there is no value (no such boxes)
        reports[label] = {
            k: None if isinstance(v, float) and math.isnan(v) else v
            for k, v in report.items()}
    if args.json_out:
        from msfam_mm.utils import write_text_atomic
        content = reports if len(dets) > 1 else reports[labels[0]]
        write_text_atomic(args.json_out, json.dumps(content, indent=1))
    if args.out_dir:
        write_outputs(args.out_dir, scored)
        print(f'table and figures in {args.out_dir}: kaist_eval.md, '
              'kaist_eval.csv, miss_rate_fppi.png, ap_bars.png')
    return 0


if __name__ == '__main__':
    sys.exit(main())
