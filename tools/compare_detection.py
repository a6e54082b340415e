"""Train and test one GFLV2 configuration per KAIST image type (Table 7).

MSFAM's downstream claim (paper Section 4.4, Table 7) is that the same
detector, trained and tested on MSFAM-fused KAIST frames, beats it trained on
visible-only or infrared-only frames. This tool runs that experiment for any
set of image types -- folder names under ``images/setXX/VYYY/`` of a KAIST
root (``visible``, ``lwir``, fused folders) -- with one configuration, the
same seed and the same schedule, and writes ``comparison.md`` and
``comparison.csv`` with COCO AP/AP50/AP_S/AP_M/AP_L, KAIST's log-average
miss rate MR^-2 (all/day/night) and test throughput (images/s).

Example::

    python tools/compare_detection.py --kaist data/kaist \\
        --types visible,lwir,msfam=work_dirs/kaist_msfam:fused \\
        --config configs/gflv2/gflv2_r50_fpn_24e_kaist_base.py \\
        --work-dir work_dirs/table7

Per type the work dir gets ``<type>/`` (logs, checkpoints, ``metrics.json``);
``comparison.{md,csv}`` are rewritten, complete, after every finished type.
``--skip-existing`` reuses a type's ``metrics.json`` when it was produced by
the same configuration (same resolved config text).
"""
import argparse
import csv
import hashlib
import io
import json
import os
import os.path as osp
import re
import time
from typing import Dict, List, NamedTuple, Optional, Sequence


# Table columns: (csv key, markdown header, metric-key suffix, better).
COLUMNS = (
    ('AP', 'AP', 'bbox_mAP', 'max'),
    ('AP50', 'AP<sub>50</sub>', 'bbox_mAP_50', 'max'),
    ('AP_S', 'AP<sub>S</sub>', 'bbox_mAP_s', 'max'),
    ('AP_M', 'AP<sub>M</sub>', 'bbox_mAP_m', 'max'),
    ('AP_L', 'AP<sub>L</sub>', 'bbox_mAP_l', 'max'),
    ('MR-2_all', 'MR<sup>-2</sup> all (%)', 'MR-2_all', 'min'),
    ('MR-2_day', 'MR<sup>-2</sup> day (%)', 'MR-2_day', 'min'),
    ('MR-2_night', 'MR<sup>-2</sup> night (%)', 'MR-2_night', 'min'),
    ('images_per_s', 'images/s', None, 'max'),
)
TYPE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Train and test one detector config per KAIST image '
        'type and write a Table 7-style comparison (paper Section 4.4).')
    parser.add_argument(
        '--kaist', required=True,
        help='KAIST root (images/, annotations/, imageSets/)')
    parser.add_argument(
        '--types', required=True,
        help='comma-separated image types: a folder name under '
        'KAIST_ROOT/images/setXX/VYYY/ (visible, lwir) '
        'or LABEL=ROOT[:FOLDER] for ROOT/images/setXX/VYYY/FOLDER/ '
        '(e.g. msfam=work/kaist_msfam:fused from tools/fuse_kaist.py)')
    parser.add_argument(
        '--config', required=True,
        help='detector config, e.g. '
        'configs/gflv2/gflv2_r50_fpn_24e_kaist_base.py')
    parser.add_argument('--work-dir', required=True, help='output folder')
    parser.add_argument(
        '--train-image-set',
        help='training list relative to --kaist (default: the config\'s)')
    parser.add_argument(
        '--test-image-set',
        help='test list relative to --kaist (default: the config\'s)')
    parser.add_argument(
        '--seed', type=int, default=0,
        help='same seed for every type so they start from the same '
        'initialisation (default 0)')
    parser.add_argument(
        '--skip-existing', action='store_true',
        help='reuse <work-dir>/<type>/metrics.json made with the same config')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='config overrides applied to every type, key=value '
        '(mmengine syntax), e.g. train_cfg.max_epochs=12 (epoch-based '
        'scheduler milestones then scale to the same fractions of the run '
        'unless param_scheduler is overridden too)')
    return parser.parse_args(argv)


class ImageType(NamedTuple):
    """One compared image type.

    ``label`` names the table row and the work sub-folder; images are read
    from ``<images_root>/setXX/VYYY/<folder>/`` (``images_root`` None: the
    ``images/`` folder of ``--kaist``).
    """
    label: str
    folder: str
    images_root: Optional[str] = None


def parse_types(spec: str) -> List[ImageType]:
    """Parse ``--types``: ``NAME`` or ``LABEL=ROOT[:FOLDER]`` entries.

    ``NAME`` is a folder under ``--kaist``'s ``images/setXX/VYYY/``;
    ``LABEL=ROOT:FOLDER`` reads ``ROOT/images/setXX/VYYY/FOLDER/`` (e.g. the
    output of ``tools/fuse_kaist.py``) with ``--kaist``'s annotations;
    FOLDER defaults to LABEL.
    """
    types = []
    for entry in (e.strip() for e in spec.split(',')):
        if not entry:
            continue
        if '=' in entry:
            label, _, location = entry.partition('=')
            root, folder = location, label
            head, sep, tail = location.rpartition(':')
            if sep and TYPE_NAME.match(tail) and head:
                root, folder = head, tail
            if not root:
                raise ValueError(f'compare_detection: --types entry '
                                 f'{entry!r} has an empty ROOT')
            item = ImageType(label, folder, osp.join(root, 'images'))
        else:
            item = ImageType(entry, entry)
        for name in (item.label, item.folder):
            if not TYPE_NAME.match(name):
                raise ValueError(
                    f'compare_detection: --types entry {entry!r}: {name!r} '
                    'is not a folder name (letters, digits, "_", "-", "." '
                    'only)')
        types.append(item)
    if not types:
        raise ValueError('compare_detection: --types is empty')
    labels = [t.label for t in types]
    if len(set(labels)) != len(labels):
        raise ValueError(f'compare_detection: --types repeats a name: {spec}')
    return types


def check_image_types(kaist_root: str, image_sets: Sequence[str],
                      types: Sequence[ImageType]) -> None:
    """Fail before any training if a type's folder is missing anywhere.

    Every video ``setXX/VYYY`` used by the lists must have the type's
    folder; the error names the first missing path.
    """
    from msfam_mm.datasets.kaist.frame_ids import read_image_set
    videos = []
    for image_set in image_sets:
        # the dataset's own reader: same id forms, errors name file and line
        for frame_id in read_image_set(osp.join(kaist_root, image_set)):
            video = frame_id.split('/')[:2]
            if video not in videos:
                videos.append(video)
    for t in types:
        images_root = t.images_root or osp.join(kaist_root, 'images')
        for set_name, video in videos:
            path = osp.join(images_root, set_name, video, t.folder)
            if not osp.isdir(path):
                raise FileNotFoundError(
                    f'compare_detection: image type {t.label!r} is missing: '
                    f'{path} does not exist (every video of '
                    f'{", ".join(image_sets)} needs '
                    f'{osp.join(images_root, "setXX", "VYYY", t.folder)}/)')


def rescale_epoch_schedule(cfg, base_epochs: int) -> None:
    """Move epoch-based scheduler steps with an overridden ``max_epochs``.

    The configs compute their step milestones from their own length when
    they are read (24 epochs: decay at 16 and 22), so
    ``--cfg-options train_cfg.max_epochs=12`` alone would train at the full
    learning rate throughout. Milestones and ends are kept at the same
    fractions of the run (12 epochs: 8 and 11, MMDetection's 1x), unless
    ``--cfg-options`` sets the schedule itself.
    """
    new_epochs = cfg.train_cfg.max_epochs
    if not base_epochs or new_epochs == base_epochs:
        return
    ratio = new_epochs / base_epochs
    for sched in cfg.get('param_scheduler') or []:
        if not sched.get('by_epoch', True):
            continue
        if 'milestones' in sched:
            sched['milestones'] = [max(1, round(m * ratio))
                                   for m in sched['milestones']]
        if sched.get('end') == base_epochs:
            sched['end'] = new_epochs
    print(f'compare_detection: train_cfg.max_epochs {base_epochs} -> '
          f'{new_epochs}; epoch-based scheduler steps scaled to match: '
          f'{[dict(s) for s in cfg.param_scheduler if s.get("by_epoch", True)]}')


def type_config(config: str, kaist_root: str, image_type: ImageType,
                work_dir: str, seed: int, train_image_set: Optional[str],
                test_image_set: Optional[str],
                cfg_options: Optional[dict]):
    """The config of one type: same everything, only the images differ.

    Validation during training is switched off (the test set is evaluated
    once, after the last epoch, by the test loop).
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if cfg_options:
        base_epochs = cfg.train_cfg.get('max_epochs')
        cfg.merge_from_dict(cfg_options)
        if 'train_cfg.max_epochs' in cfg_options and not any(
                k.startswith('param_scheduler') for k in cfg_options):
            rescale_epoch_schedule(cfg, base_epochs)
    root = osp.abspath(kaist_root)
    for key in DATALOADERS:
        dataset = cfg[key]['dataset']
        dataset['data_root'] = root
        dataset['modality'] = image_type.folder
        if image_type.images_root is not None:
            dataset['img_subdir'] = osp.abspath(image_type.images_root)
    if train_image_set:
        cfg.train_dataloader.dataset.image_set = train_image_set
    if test_image_set:
        cfg.val_dataloader.dataset.image_set = test_image_set
        cfg.test_dataloader.dataset.image_set = test_image_set
    cfg.work_dir = osp.join(osp.abspath(work_dir), image_type.label)
    cfg.randomness = dict(seed=seed)
    # Unique names: mmengine keeps loggers/visualizers per name in-process.
    stamp = time.strftime('%Y%m%d_%H%M%S')
    cfg.experiment_name = (
        f'compare_{image_type.label}_{stamp}_{os.getpid()}')
    if cfg.get('visualizer') is not None:
        cfg.visualizer.name = cfg.experiment_name
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    cfg.val_cfg = None
    cfg.train_cfg.pop('val_interval', None)
    return cfg


def config_digest(cfg) -> str:
    """sha256 of the resolved config minus the per-run names."""
    content = cfg.to_dict()
    content.pop('experiment_name', None)
    if isinstance(content.get('visualizer'), dict):
        content['visualizer'].pop('name', None)
    text = json.dumps(content, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def find_metric(metrics: Dict[str, float], suffix: str) -> Optional[float]:
    """Value whose key is ``suffix`` or ends with ``/suffix``."""
    for key, value in metrics.items():
        if key == suffix or key.endswith('/' + suffix):
            return float(value)
    return None


def _throughput_hook():
    from mmengine.hooks import Hook

    class TestThroughputHook(Hook):
        """Images/s of the test loop (model + post-processing + metric
        bookkeeping, data loading excluded)."""
        priority = 'VERY_LOW'

        def __init__(self):
            self.seconds = 0.0
            self.images = 0
            self._start = None

        def before_test_iter(self, runner, batch_idx, data_batch=None):
            self._start = time.perf_counter()

        def after_test_iter(self,
                            runner,
                            batch_idx,
                            data_batch=None,
                            outputs=None):
            self.seconds += time.perf_counter() - self._start
            self.images += len(outputs) if outputs is not None else 0

    return TestThroughputHook()


def run_type(cfg) -> Dict[str, object]:
    """Train then test one type with an mmengine Runner (in-process)."""
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    train_seconds = time.perf_counter() - start
    timer = _throughput_hook()
    runner.register_hook(timer)
    metrics = runner.test()
    return dict(
        metrics={k: float(v) for k, v in metrics.items()},
        images_per_s=(timer.images / timer.seconds
                      if timer.seconds > 0 else None),
        test_images=timer.images,
        train_seconds=train_seconds,
        test_batch_size=cfg.test_dataloader.get('batch_size', 1),
        epochs=cfg.train_cfg.get('max_epochs'))


def table_row(modality: str, result: Dict[str, object]) -> Dict[str, object]:
    row = {'type': modality, 'epochs': result.get('epochs')}
    for key, _, suffix, _ in COLUMNS:
        row[key] = (result.get('images_per_s') if suffix is None else
                    find_metric(result['metrics'], suffix))
    return row


def _atomic_write(path: str, text: str) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8', newline='') as f:
        f.write(text)
    os.replace(tmp, path)


def _valid(value) -> bool:
    """A real measurement: not missing, NaN (no frames) or -1 (COCO: no
    ground truth in that area range)."""
    return value is not None and value == value and value >= 0


def format_markdown(rows: List[Dict[str, object]]) -> str:
    """Table 7 layout; best value per column in bold."""
    best = {}
    for key, _, _, better in COLUMNS:
        values = [r[key] for r in rows if _valid(r[key])]
        if len(values) > 1:
            best[key] = max(values) if better == 'max' else min(values)
    header = ['Image type', 'Epoch'] + [h for _, h, _, _ in COLUMNS]
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|'
    ]
    for r in rows:
        cells = [str(r['type']), str(r['epochs'])]
        for key, _, _, _ in COLUMNS:
            v = r[key]
            if not _valid(v) and not (v is not None and v == -1):
                cells.append('n/a')
                continue
            text = f'{v:.3f}' if key.startswith('AP') else f'{v:.1f}'
            cells.append(f'**{text}**' if best.get(key) == v else text)
        lines.append('| ' + ' | '.join(cells) + ' |')
    notes = ('\nAP: COCO AP@[.5:.95]; AP<sub>50</sub>: AP@0.5; '
             'AP<sub>S/M/L</sub>: COCO area ranges (-1: no ground truth in '
             'that range); MR<sup>-2</sup>: KAIST log-average miss rate in %, '
             'reasonable setting (lower is better; n/a: no frames); '
             'images/s: test loop throughput without data loading.\n')
    return '\n'.join(lines) + '\n' + notes


def format_csv(rows: List[Dict[str, object]]) -> str:
    buf = io.StringIO()
    fields = ['type', 'epochs'] + [k for k, _, _, _ in COLUMNS]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator='\n')
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ('' if r[k] is None else r[k]) for k in fields})
    return buf.getvalue()


def write_comparison(rows: List[Dict[str, object]], work_dir: str) -> None:
    _atomic_write(osp.join(work_dir, 'comparison.md'), format_markdown(rows))
    _atomic_write(osp.join(work_dir, 'comparison.csv'), format_csv(rows))


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, object]]:
    args = parse_args(argv)
    types = parse_types(args.types)
    if not osp.isdir(args.kaist):
        raise FileNotFoundError(
            f'compare_detection: --kaist {args.kaist} is not a folder')
    if not osp.isfile(args.config):
        raise FileNotFoundError(
            f'compare_detection: --config {args.config} does not exist')

    import msfam_mm.detection  # noqa: F401  (registers GFLV2Head, KAIST classes)
    configs = {
        t.label: type_config(args.config, args.kaist, t, args.work_dir,
                             args.seed, args.train_image_set,
                             args.test_image_set, args.cfg_options)
        for t in types
    }
    first = configs[types[0].label]
    image_sets = [
        first.train_dataloader.dataset.image_set,
        first.test_dataloader.dataset.image_set
    ]
    check_image_types(args.kaist, list(dict.fromkeys(image_sets)), types)

    os.makedirs(args.work_dir, exist_ok=True)
    rows = []
    for t in (t.label for t in types):
        cfg = configs[t]
        digest = config_digest(cfg)
        metrics_path = osp.join(cfg.work_dir, 'metrics.json')
        result = None
        if args.skip_existing and osp.isfile(metrics_path):
            with open(metrics_path, encoding='utf-8') as f:
                previous = json.load(f)
            if previous.get('config_sha256') == digest:
                result = previous
                print(f'compare_detection: {t}: reusing {metrics_path}')
            else:
                print(f'compare_detection: {t}: {metrics_path} was made with '
                      'a different config; rerunning')
        if result is None:
            result = run_type(cfg)
            result.update(type=t, config=args.config, config_sha256=digest)
            os.makedirs(cfg.work_dir, exist_ok=True)
            _atomic_write(metrics_path, json.dumps(result, indent=2))
        rows.append(table_row(t, result))
        write_comparison(rows, args.work_dir)
    print(format_markdown(rows))
    return rows


if __name__ == '__main__':
    main()
