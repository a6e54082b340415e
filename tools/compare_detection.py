"""Train and test one GFLV2 configuration per KAIST image type (Table 7).

MSFAM's downstream claim (paper Section 4.4, Table 7) is that the same
detector, trained and tested on MSFAM-fused KAIST frames, beats it trained on
visible-only or infrared-only frames. This tool runs that experiment for any
set of image types -- folder names under ``images/setXX/VYYY/`` of a KAIST
root (``visible``, ``lwir``, fused folders) -- with one configuration, the
same seed and the same schedule, and writes ``comparison.md`` and
``comparison.csv`` with COCO AP/AP50/AP_S/AP_M/AP_L, KAIST's log-average
miss rate MR^-2 (all/day/night) and test throughput (images/s), next to them
the figures ``miss_rate_fppi.png`` (miss rate vs FPPI, all/day/night) and
``ap_bars.png``, and pictures of a few test frames per type in
``detections/<type>/``.

Example::

    python tools/compare_detection.py --kaist data/kaist \\
        --types visible,lwir,msfam=work_dirs/kaist_msfam:fused \\
        --config configs/gflv2/gflv2_r50_fpn_24e_kaist_base.py \\
        --work-dir work_dirs/table7 [--gpus 4]

Per type the work dir gets ``<type>/`` (logs, checkpoints, ``metrics.json``,
``miss_rate_curves.npz``); the comparison files are rewritten, complete,
after every finished type. ``--skip-existing`` reuses a type's
``metrics.json`` when it was produced by the same configuration (same
resolved config text and number of processes).

Several processes (GPUs): ``--gpus N`` starts ``torchrun`` with N processes
per image type; under ``torchrun`` itself, ``--launcher pytorch``. Each
process keeps the config's batch size and the learning rate is scaled
linearly with the total batch (mmengine's ``auto_scale_lr`` with the
config's ``base_batch_size``); the rule is printed before training.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, NamedTuple, Optional, Sequence

from msfam_mm.evaluation.kaist.detection_table import (COLUMNS, find_metric,
                                                       format_csv,
                                                       format_markdown,
                                                       table_row)

TYPE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
CURVES_FILE = 'miss_rate_curves.npz'
RESULTS_PREFIX = 'results'  # CocoMetric writes results.bbox.json
MISS_RATE_FIGURE = 'miss_rate_fppi.png'
AP_FIGURE = 'ap_bars.png'
DETECTIONS_DIR = 'detections'

__all__ = ['COLUMNS', 'find_metric', 'format_csv', 'format_markdown',
           'table_row']


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Train and test one detector config per KAIST image '
        'type and write a Table 7-style comparison (paper Section 4.4).',
        allow_abbrev=False)
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
        '--from-scratch', action='store_true',
        help='train the backbone from scratch when its ImageNet weights are '
        "missing (not the paper's setting; without it the paper configs "
        'stop and name the file they need)')
    parser.add_argument(
        '--skip-existing', action='store_true',
        help='reuse <work-dir>/<type>/metrics.json made with the same config')
    parser.add_argument(
        '--gpus', type=int, default=None, metavar='N',
        help='train and test each type with N processes, one per GPU, '
        'started with torchrun (python -m torch.distributed.run '
        '--standalone); without CUDA, N CPU processes talking over gloo')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch'], default='none',
        help='pytorch: this process is one of torchrun\'s (every process '
        'runs every type; rank 0 writes the results)')
    parser.add_argument(
        '--no-comparison', action='store_true',
        help='write each type\'s results (<type>/metrics.json, curves, '
        'pictures) but not the comparison files and figures (what --gpus '
        'asks of its torchrun processes)')
    parser.add_argument(
        '--vis-frames', type=int, default=4,
        help='test frames drawn per type, ground truth and predictions, '
        'into <work-dir>/detections/<type>/ (0: none; default 4)')
    parser.add_argument(
        '--vis-score-thr', type=float, default=0.3,
        help='smallest score of a drawn prediction (default 0.3)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='config overrides applied to every type, key=value '
        '(mmengine syntax), e.g. train_cfg.max_epochs=12 (epoch-based '
        'scheduler milestones then scale to the same fractions of the run '
        'unless param_scheduler is overridden too)')
    args = parser.parse_args(argv)
    if args.gpus is not None and args.gpus < 1:
        parser.error(f'--gpus must be at least 1, got {args.gpus}')
    if args.gpus is not None and args.launcher != 'none':
        parser.error('--gpus starts torchrun itself; do not combine it with '
                     '--launcher pytorch')
    if args.vis_frames < 0:
        parser.error(f'--vis-frames must be >= 0, got {args.vis_frames}')
    return args


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


def type_spec(image_type: ImageType) -> str:
    """The ``--types`` entry of one type (inverse of :func:`parse_types`)."""
    if image_type.images_root is None:
        return image_type.label
    root = osp.dirname(image_type.images_root)
    return f'{image_type.label}={root}:{image_type.folder}'


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
    if int(os.environ.get('RANK', 0)) == 0:
        print(f'compare_detection: train_cfg.max_epochs {base_epochs} -> '
              f'{new_epochs}; epoch-based scheduler steps scaled to match: '
              f'{[dict(s) for s in cfg.param_scheduler if s.get("by_epoch", True)]}')


def scale_batch_and_lr(cfg, world_size: int,
                       cfg_options: Optional[dict] = None) -> Dict:
    """The rule for ``world_size`` processes: the batch per process is the
    config's, the learning rate scales with the total batch.

    Sets ``cfg.auto_scale_lr.enable=True`` (mmengine's Runner then
    multiplies the optimizer's lr by ``world_size * batch /
    base_batch_size`` before building the schedulers, Goyal et al. 2017's
    linear scaling rule), unless ``--cfg-options`` sets
    ``auto_scale_lr.enable`` itself. A config without ``base_batch_size``
    gets its own batch size (its lr is then read as one process's).

    Returns:
        dict with ``world_size``, ``batch_per_process``, ``total_batch``,
        ``base_batch_size``, ``lr`` (the config's), ``scaled_lr`` (what the
        Runner will train with) and ``rule`` (a sentence saying so).
    """
    batch = int(cfg.train_dataloader.batch_size)
    auto = cfg.get('auto_scale_lr') or {}
    base = auto.get('base_batch_size', batch)
    enable = True
    if cfg_options and 'auto_scale_lr.enable' in cfg_options:
        enable = bool(cfg_options['auto_scale_lr.enable'])
    cfg.auto_scale_lr = dict(auto, enable=enable, base_batch_size=base)
    lr = float(cfg.optim_wrapper.optimizer.lr)
    total = world_size * batch
    scaled = lr * total / base if enable else lr
    procs = f'{world_size} process{"es" if world_size > 1 else ""}'
    if enable:
        rule = (f'{procs} x {batch} images = {total} images per iteration; '
                f'lr {lr:g} x {total}/{base} (auto_scale_lr.base_batch_size) '
                f'= {scaled:g} (linear scaling rule, mmengine auto_scale_lr)')
    else:
        rule = (f'{procs} x {batch} images = {total} images per iteration; '
                f'lr {lr:g} unscaled (auto_scale_lr.enable=False)')
    return dict(world_size=world_size, batch_per_process=batch,
                total_batch=total, base_batch_size=base, lr=lr,
                scaled_lr=scaled, rule=rule)


def _metrics_of_type(evaluator, name: str) -> List:
    """The entries of type ``name`` of an evaluator config."""
    entries = evaluator if isinstance(evaluator, (list, tuple)) else [
        evaluator]
    return [e for e in entries if isinstance(e, dict)
            and str(e.get('type', '')).split('.')[-1] == name]


def type_config(config: str, kaist_root: str, image_type: ImageType,
                work_dir: str, seed: int, train_image_set: Optional[str],
                test_image_set: Optional[str],
                cfg_options: Optional[dict]):
    """The config of one type: same everything, only the images differ.

    Validation during training is switched off (the test set is evaluated
    once, after the last epoch, by the test loop); the KAIST metric keeps
    its miss-rate curves in ``<work_dir>/<type>/miss_rate_curves.npz`` and
    the COCO metric the detections in ``<work_dir>/<type>/results.bbox.json``
    (COCO results format, for ``tools/eval_kaist.py``).
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
    evaluator = cfg.get('test_evaluator') or []
    for metric in _metrics_of_type(evaluator, 'KAISTMissRateMetric'):
        metric['curves_file'] = osp.join(cfg.work_dir, CURVES_FILE)
    for metric in _metrics_of_type(evaluator, 'CocoMetric'):
        metric['outfile_prefix'] = osp.join(cfg.work_dir, RESULTS_PREFIX)
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


def config_digest(cfg, world_size: int = 1) -> str:
    """sha256 of the resolved config minus the per-run names, and the
    number of processes (another total batch is another experiment)."""
    import hashlib
    content = cfg.to_dict()
    content.pop('experiment_name', None)
    # how the processes are started, not what they compute
    content.pop('launcher', None)
    content.pop('model_wrapper_cfg', None)
    if isinstance(content.get('visualizer'), dict):
        content['visualizer'].pop('name', None)
    if world_size != 1:
        content['_world_size'] = world_size
    text = json.dumps(content, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


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


def run_type(cfg, vis_dir: Optional[str] = None, vis_frames: int = 0,
             vis_score_thr: float = 0.3) -> Dict[str, object]:
    """Train then test one type with an mmengine Runner (in this process;
    under torchrun every process calls it and each gets the result).

    Throughput is all processes' test images over the slowest process's
    test-loop seconds. Rank 0 draws ``vis_frames`` test frames into
    ``vis_dir``.
    """
    from mmengine.dist import all_gather_object, get_rank, get_world_size
    from mmengine.runner import Runner

    from msfam_mm.engine.runner_model import runner_model
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    train_seconds = time.perf_counter() - start
    lr = runner.optim_wrapper.optimizer.param_groups[0].get('initial_lr')
    timer = _throughput_hook()
    runner.register_hook(timer)
    metrics = runner.test()
    counts = all_gather_object((timer.images, timer.seconds))
    images = sum(n for n, _ in counts)
    seconds = max(s for _, s in counts)
    pictures = []
    if vis_dir and vis_frames and get_rank() == 0:
        from msfam_mm.detection.frame_visualization import \
            draw_detection_frames
        pictures = draw_detection_frames(
            runner_model(runner), runner.test_dataloader.dataset, vis_dir,
            label=osp.basename(cfg.work_dir), num_frames=vis_frames,
            score_thr=vis_score_thr)
    return dict(
        metrics={k: float(v) for k, v in metrics.items()},
        images_per_s=images / seconds if seconds > 0 else None,
        test_images=len(runner.test_dataloader.dataset),
        train_seconds=train_seconds,
        test_batch_size=cfg.test_dataloader.get('batch_size', 1),
        epochs=cfg.train_cfg.get('max_epochs'),
        world_size=get_world_size(),
        lr=lr,
        pictures=[osp.relpath(p, osp.dirname(cfg.work_dir))
                  for p in pictures])


def write_comparison(rows: List[Dict[str, object]], work_dir: str,
                     curves: Optional[Dict[str, Dict]] = None) -> List[str]:
    """``comparison.md``/``.csv`` and, next to them, the miss-rate and AP
    figures; returns the figure paths written."""
    from msfam_mm.utils import write_text_atomic
    from msfam_mm.visualization import (ap_bar_figure, miss_rate_figure,
                                        save_figure)
    write_text_atomic(osp.join(work_dir, 'comparison.md'),
                      format_markdown(rows))
    write_text_atomic(osp.join(work_dir, 'comparison.csv'), format_csv(rows))
    figures = []
    if curves:
        path = osp.join(work_dir, MISS_RATE_FIGURE)
        save_figure(miss_rate_figure(
            curves, title='KAIST miss rate vs false positives per image '
            '(reasonable setting)'), path)
        figures.append(path)
    path = osp.join(work_dir, AP_FIGURE)
    save_figure(ap_bar_figure(rows), path)
    figures.append(path)
    return figures


def load_type_curves(type_dir: str) -> Optional[Dict]:
    """A type's miss-rate curves as its KAIST metric wrote them, or None
    when the config has no KAISTMissRateMetric."""
    from msfam_mm.evaluation.kaist.curves import load_miss_rate_curves
    path = osp.join(type_dir, CURVES_FILE)
    return load_miss_rate_curves(path) if osp.isfile(path) else None


def _child_argv(argv: Sequence[str], spec: str) -> List[str]:
    """This tool's arguments for one type's torchrun processes: ``--gpus``
    and ``--types`` replaced."""
    out, skip = [], False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in ('--gpus', '--types'):
            skip = True
            continue
        if token.startswith(('--gpus=', '--types=')):
            continue
        out.append(token)
    return out + ['--types', spec, '--launcher', 'pytorch', '--no-comparison']


def launch_type(argv: Sequence[str], image_type: ImageType,
                nproc: int) -> None:
    """Train and test one type with ``nproc`` torchrun processes."""
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
           f'--nproc-per-node={nproc}', osp.abspath(__file__)
           ] + _child_argv(argv, type_spec(image_type))
    print('compare_detection: ' + ' '.join(cmd), flush=True)
    ret = subprocess.run(cmd).returncode
    if ret != 0:
        raise RuntimeError(
            f'compare_detection: type {image_type.label!r}: torchrun with '
            f'{nproc} processes exited with status {ret} (its log is above '
            'and in the type\'s work folder)')


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, object]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    types = parse_types(args.types)
    if not osp.isdir(args.kaist):
        raise FileNotFoundError(
            f'compare_detection: --kaist {args.kaist} is not a folder')
    if not osp.isfile(args.config):
        raise FileNotFoundError(
            f'compare_detection: --config {args.config} does not exist')

    import msfam_mm.detection  # noqa: F401  (registers GFLV2Head, KAIST classes)
    from msfam_mm.utils import write_text_atomic
    distributed = args.launcher == 'pytorch'
    world_size = (int(os.environ.get('WORLD_SIZE', 1)) if distributed else
                  (args.gpus or 1))
    rank = int(os.environ.get('RANK', 0)) if distributed else 0
    say = print if rank == 0 else (lambda *a, **k: None)
    configs = {
        t.label: type_config(args.config, args.kaist, t, args.work_dir,
                             args.seed, args.train_image_set,
                             args.test_image_set, args.cfg_options)
        for t in types
    }
    if args.from_scratch:
        from msfam_mm.detection import allow_training_from_scratch
        if not sum(allow_training_from_scratch(cfg.model)
                   for cfg in configs.values()):
            raise ValueError(f'compare_detection: --from-scratch: '
                             f'{args.config} loads no optional pretrained '
                             'weights')
    first = configs[types[0].label]
    image_sets = [
        first.train_dataloader.dataset.image_set,
        first.test_dataloader.dataset.image_set
    ]
    check_image_types(args.kaist, list(dict.fromkeys(image_sets)), types)
    scaling = {t: scale_batch_and_lr(cfg, world_size, args.cfg_options)
               for t, cfg in configs.items()}
    say(f'compare_detection: batch and learning rate: '
        f'{scaling[types[0].label]["rule"]}', flush=True)
    if distributed:
        from msfam_mm.engine.distributed import setup_cpu_distributed
        for cfg in configs.values():
            cfg.launcher = 'pytorch'
            setup_cpu_distributed(cfg, 'pytorch')

    os.makedirs(args.work_dir, exist_ok=True)
    rows, curves = [], {}
    for t in types:
        label, cfg = t.label, configs[t.label]
        digest = config_digest(cfg, world_size)
        metrics_path = osp.join(cfg.work_dir, 'metrics.json')
        result = None
        if args.skip_existing and osp.isfile(metrics_path):
            with open(metrics_path, encoding='utf-8') as f:
                previous = json.load(f)
            if previous.get('config_sha256') == digest:
                result = previous
                say(f'compare_detection: {label}: reusing {metrics_path}')
            else:
                say(f'compare_detection: {label}: {metrics_path} was made '
                    'with a different config; rerunning')
        if result is None and args.gpus:
            launch_type(argv, t, args.gpus)
            with open(metrics_path, encoding='utf-8') as f:
                result = json.load(f)
        elif result is None:
            result = run_type(
                cfg, osp.join(osp.abspath(args.work_dir), DETECTIONS_DIR,
                              label), args.vis_frames, args.vis_score_thr)
            result.update(type=label, config=args.config,
                          config_sha256=digest, scaling=scaling[label])
            if rank == 0:
                os.makedirs(cfg.work_dir, exist_ok=True)
                write_text_atomic(metrics_path,
                                  json.dumps(result, indent=2))
        rows.append(table_row(label, result))
        if rank == 0 and not args.no_comparison:
            type_curves = load_type_curves(cfg.work_dir)
            if type_curves is not None:
                curves[label] = type_curves
            write_comparison(rows, args.work_dir, curves)
    if rank == 0 and not args.no_comparison:
        print(format_markdown(rows))
    if distributed:
        import torch.distributed as dist
        if dist.is_initialized():
            dist.destroy_process_group()
    return rows


if __name__ == '__main__':
    main()
