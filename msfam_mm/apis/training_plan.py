"""The plan of ``tools/train_all.py``: MSFAM's three trainings of a protocol,
their lengths fitted to a time budget, written out as configs.

The paper trains the Semantic Constraint classifier, then stage 1
(reconstruction, 10,090 updates), then stage 2 (the full Eq. 2, 20 epochs,
best model kept) (Sections 3.3-3.5, 4.1). A plan may add stage-2 variants
(:data:`STAGE2_VARIANTS`): more stage-2 runs of the same length from the
same stage 1 and classifier, each one loss choice apart; the one with the
best validation score is handed on (:func:`best_validation_score`).

A plan holds, per training, the config it derives from, its length in
iterations, its validation interval and its learning-rate schedule, plus
the step times it was fitted with.
It is written once into the run's folder (``plan.json``) and read back
when the run resumes, so an interrupted run continues the same schedule.

Fitting to a budget: the seconds of a training are ``compile + iterations
x step``, plus its validations; when the paper's lengths do not fit, every
training is shortened by the same factor (at least :data:`MIN_ITERS`
updates each), and a shortened schedule uses the CPU recipe's rate, Adam
1e-3 with cosine decay to 1e-5 (docs/training.md: at 1e-4 a few hundred
updates barely move the weights), instead of the paper's fixed 1e-4.
"""
import json
import math
import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

from mmengine.config import Config

from msfam_mm.utils import write_text_atomic

__all__ = ['TRAININGS', 'PROTOCOL_CONFIGS', 'PlanError', 'load_config',
           'paper_length', 'stage_overrides', 'STAGE2_VARIANTS',
           'run_name', 'variant_overrides', 'best_validation_score',
           'fit_plan', 'write_stage_config', 'load_plan', 'save_plan',
           'format_plan']

#: the trainings in the order they run (stage 2 loads the other two)
TRAININGS = ('classifier', 'stage1', 'stage2')
#: the configs each protocol trains (paths from the repository root)
PROTOCOL_CONFIGS = {
    'cross': OrderedDict(
        classifier='configs/cross/msfam_constraint_cross.py',
        stage1='configs/cross/msfam_stage1_cross.py',
        stage2='configs/cross/msfam_stage2_cross.py'),
    'paper': OrderedDict(
        classifier='configs/msfam_constraint.py',
        stage1='configs/msfam_stage1.py',
        stage2='configs/msfam_stage2.py'),
}
#: stage-2 variants a plan can add, each the planned stage 2 with these
#: config options: the two loss choices docs/losses.md leaves open, so one
#: run answers them on validation images
STAGE2_VARIANTS = OrderedDict(
    # Eq. 2 without the Semantic Constraint (alpha_2 = 0): does the
    # classifier's term help or hurt (the paper's Table 3 question)?
    pull_push_only={'model.loss.constraint_weight': 0.0},
    # Pull-Push with the weights of Section 3.6's text rather than of
    # Algorithm 2's equations (docs/losses.md, "Direction of the Pull-Push
    # loss": the equations' direction drifts toward one source)
    as_described={'model.loss.pull_push.direction': 'as_described'},
)
#: the fewest updates a shortened training gets
MIN_ITERS = 20
#: the rate of a shortened schedule (docs/training.md, the CPU recipe)
SHORT_LR, SHORT_ETA_MIN = 1e-3, 1e-5
#: a planned training saves a checkpoint at least this often (minutes of
#: training at the planned step time): what an interrupted run loses
CHECKPOINT_MINUTES = 10
#: the batch and crop each training is timed at: the paper's (Section 4.1)
TIMING_SHAPES = dict(classifier=(16, 256, 320), stage1=(4, 256, 320),
                     stage2=(4, 256, 320))


class PlanError(Exception):
    """A plan cannot be made or resumed; the message says why."""


def _dataset_length(cfg: Config) -> int:
    """Images (or pairs) of a config's training set, by building it."""
    from mmengine.registry import DATASETS, DefaultScope
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'msfam_mm')):
        return len(DATASETS.build(cfg.train_dataloader.dataset))


def load_config(path: str, data_root: Optional[str] = None) -> Config:
    """A training config with every dataset under ``data_root``."""
    from msfam_mm.utils import set_data_root
    cfg = Config.fromfile(path)
    if data_root:
        set_data_root(cfg, data_root)
    return cfg


def paper_length(cfg: Config) -> Dict[str, Optional[int]]:
    """A training config's length in iterations and its validation
    interval (``None``: no validation), converting an epoch-based loop with
    its training set's size (built from the config: its data must be
    there, :func:`load_config`)."""
    loop = cfg.train_cfg
    val = cfg.get('val_dataloader') is not None and loop.get(
        'val_interval', 1) > 0
    if loop.get('type') == 'IterBasedTrainLoop' or 'max_iters' in loop:
        return dict(iters=int(loop.max_iters),
                    val_interval=int(loop.get('val_interval', 1000))
                    if val else None)
    per_epoch = math.ceil(_dataset_length(cfg) /
                          cfg.train_dataloader.batch_size)
    return dict(iters=int(loop.max_epochs) * per_epoch,
                val_interval=int(loop.get('val_interval', 1)) * per_epoch
                if val else None)


def fit_plan(protocol: str, budget_minutes: float,
             steps: Dict[str, dict], validation_s: Dict[str, float],
             device: str, lengths: Optional[Dict[str, dict]] = None,
             max_iters: Optional[int] = None,
             stage2_variants: Sequence[str] = ()) -> dict:
    """The plan of ``protocol`` within ``budget_minutes``.

    Args:
        protocol: ``'cross'`` or ``'paper'`` (:data:`PROTOCOL_CONFIGS`).
        budget_minutes: wall time for the three trainings (not counting
            the scoring and export after them).
        steps: per training ``dict(step_s=..., compile_s=...)``: seconds
            per update once compiled, and of the first (compiling) update.
        validation_s: per training, the seconds of one validation.
        device: ``'cpu'`` or ``'cuda'`` (recorded).
        lengths: per training :func:`paper_length` (default: read from
            the configs).
        max_iters: cap every training at this many updates (a smoke run).
        stage2_variants: names of :data:`STAGE2_VARIANTS` to run after
            stage 2, each as long as stage 2 and counted in the budget.

    Returns:
        ``dict(protocol, device, budget_minutes, scale, estimate_s,
        trainings={name: dict(config, iters, val_interval, paper_iters,
        short_schedule, estimate_s)}, stage2_variants)``; a training's
        ``estimate_s`` is for one run, the plan's for all of them.

    Example:
        >>> steps = {t: dict(step_s=1.0, compile_s=0.0) for t in TRAININGS}
        >>> lengths = {t: dict(iters=1000, val_interval=None)
        ...            for t in TRAININGS}
        >>> plan = fit_plan('cross', 25, steps, {}, 'cpu', lengths)
        >>> plan['scale'], plan['trainings']['stage1']['iters']
        (0.5, 500)
    """
    if protocol not in PROTOCOL_CONFIGS:
        raise PlanError(f'unknown protocol {protocol!r}; choose from '
                        f'{sorted(PROTOCOL_CONFIGS)}')
    if budget_minutes <= 0:
        raise PlanError(f'budget must be positive, got {budget_minutes} '
                        'minutes')
    configs = PROTOCOL_CONFIGS[protocol]
    if lengths is None:
        lengths = {t: paper_length(load_config(c))
                   for t, c in configs.items()}
    missing = [t for t in TRAININGS if t not in steps]
    if missing:
        raise PlanError(f'no step times for {missing}')
    for variant in stage2_variants:
        variant_overrides(variant)
    # how many times each training runs
    runs = dict.fromkeys(TRAININGS, 1)
    runs['stage2'] += len(stage2_variants)

    def n_validations(t, iters):
        interval = lengths[t]['val_interval']
        return 0 if not interval else max(1, iters // interval)

    fixed = sum(runs[t] * (steps[t]['compile_s'] +
                           n_validations(t, lengths[t]['iters']) *
                           validation_s.get(t, 0.0)) for t in TRAININGS)
    work = sum(runs[t] * lengths[t]['iters'] * steps[t]['step_s']
               for t in TRAININGS)
    budget_s = budget_minutes * 60.0
    scale = 1.0 if fixed + work <= budget_s else max(
        0.0, (budget_s - fixed) / work)
    trainings = OrderedDict()
    total = 0.0
    for t in TRAININGS:
        paper = lengths[t]['iters']
        iters = paper if scale >= 1.0 else max(MIN_ITERS,
                                               int(paper * scale))
        if max_iters is not None:
            iters = min(iters, max_iters)
        interval = lengths[t]['val_interval']
        if interval:
            # as many validations as the paper's schedule has, at most
            interval = max(1, min(iters, math.ceil(
                iters / max(1, paper // interval))))
        validations = iters // interval if interval else 0
        estimate = (steps[t]['compile_s'] + iters * steps[t]['step_s'] +
                    validations * validation_s.get(t, 0.0))
        total += runs[t] * estimate
        trainings[t] = dict(config=configs[t], iters=iters,
                            paper_iters=paper, val_interval=interval,
                            short_schedule=iters < paper,
                            step_s=steps[t]['step_s'],
                            compile_s=steps[t]['compile_s'],
                            estimate_s=round(estimate, 1))
    return dict(protocol=protocol, device=device,
                budget_minutes=budget_minutes, scale=round(min(scale, 1.0),
                                                           4),
                estimate_s=round(total, 1), trainings=trainings,
                stage2_variants=list(stage2_variants))


def run_name(variant: Optional[str] = None) -> str:
    """The folder and config name of a stage-2 run: ``stage2`` for the
    planned one, ``stage2-<variant>`` for a variant."""
    return 'stage2' if variant is None else f'stage2-{variant}'


def variant_overrides(variant: str) -> dict:
    """The config options of a stage-2 variant (:data:`STAGE2_VARIANTS`).

    Raises:
        PlanError: an unknown name.
    """
    if variant not in STAGE2_VARIANTS:
        raise PlanError(f'unknown stage-2 variant {variant!r}; choose from '
                        f'{list(STAGE2_VARIANTS)}')
    return dict(STAGE2_VARIANTS[variant])


def best_validation_score(checkpoint: str) -> Tuple[float, int]:
    """The validation score a best checkpoint was chosen by, and its
    iteration: mmengine's CheckpointHook keeps the best score in the
    checkpoint's message hub (``runtime_info.best_score``). Read
    weights-only (:func:`msfam_mm.utils.checkpoint.load_checkpoint_safe`).

    Raises:
        PlanError: the file holds no best score (not a best checkpoint of
            a training with validation).
    """
    from msfam_mm.utils.checkpoint import load_checkpoint_safe
    ckpt = load_checkpoint_safe(checkpoint)
    info = (ckpt.get('message_hub') or {}).get('runtime_info', {})
    if 'best_score' not in info:
        raise PlanError(f'{checkpoint}: no best validation score in it (a '
                        'checkpoint of a training without validation?)')
    meta = ckpt.get('meta') or {}
    return float(info['best_score']), int(meta.get('iter', -1))


def stage_overrides(name: str, entry: dict, work_dirs: Dict[str, str],
                    checkpoints: Dict[str, str],
                    eager: bool = False,
                    extra: Optional[dict] = None) -> Config:
    """The config of one planned training: its base config with the plan's
    length, validation interval, schedule and upstream checkpoints."""
    cfg = Config.fromfile(entry['config'])
    iters = entry['iters']
    loop = dict(type='IterBasedTrainLoop', max_iters=iters)
    if entry['val_interval']:
        loop['val_interval'] = entry['val_interval']
    cfg.train_cfg = loop
    cfg.log_processor = dict(type='LogProcessor', window_size=10,
                             by_epoch=False)
    ckpt = cfg.default_hooks.checkpoint
    ckpt.by_epoch = False
    # at most CHECKPOINT_MINUTES of training lost when a run stops (and at
    # every validation, where the best checkpoint is chosen)
    per_checkpoint = CHECKPOINT_MINUTES * 60 / max(entry['step_s'], 1e-6)
    interval = max(1, min(iters, int(per_checkpoint)))
    if entry['val_interval']:
        interval = min(interval, entry['val_interval'])
    ckpt.interval = interval
    ckpt.save_last = True
    if entry['short_schedule']:
        cfg.optim_wrapper.optimizer.lr = SHORT_LR
        cfg.param_scheduler = [
            dict(type='CosineAnnealingLR', by_epoch=False, begin=0,
                 end=iters, T_max=iters, eta_min=SHORT_ETA_MIN)
        ]
    elif any(s.get('end', 0) > iters for s in cfg.get('param_scheduler')
             or []):
        raise PlanError(f'{entry["config"]}: a scheduler ends after the '
                        f'{iters} planned updates')
    hooks = [h for h in cfg.get('custom_hooks', [])
             if h.get('type') != 'CompileHook']
    if not eager:
        hooks.append(dict(type='CompileHook'))
    cfg.custom_hooks = hooks
    if name == 'stage2':
        cfg.model.stage1_checkpoint = checkpoints['stage1']
        cfg.model.classifier_checkpoint = checkpoints['classifier']
    cfg.work_dir = work_dirs[name]
    if extra:
        cfg.merge_from_dict(extra)
    return cfg


def write_stage_config(cfg: Config, path: str) -> None:
    """Write a planned training's config (what ``tools/train.py`` runs)."""
    write_text_atomic(path, cfg.pretty_text)


def save_plan(plan: dict, path: str) -> None:
    write_text_atomic(path, json.dumps(plan, indent=2) + '\n')


def load_plan(path: str) -> Optional[dict]:
    """The plan of a run folder, or ``None`` before its first start."""
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            plan = json.load(f)
    except (OSError, ValueError) as err:
        raise PlanError(f'{path}: unreadable plan ({err}); remove it to '
                        'plan anew') from None
    if set(plan.get('trainings', {})) != set(TRAININGS):
        raise PlanError(f'{path}: not a train_all plan (trainings '
                        f'{sorted(plan.get("trainings", {}))})')
    return plan


def format_plan(plan: dict) -> str:
    """The plan as the table ``tools/train_all.py`` prints before it
    starts."""
    lines = [f'protocol {plan["protocol"]} on {plan["device"]}, budget '
             f'{plan["budget_minutes"]} min, schedule scale '
             f'{plan["scale"]:.3f} of the paper\'s, estimate '
             f'{plan["estimate_s"] / 60:.1f} min',
             f'{"training":<11} {"updates":>8} {"paper":>7} {"val every":>9}'
             f' {"s/update":>9} {"compile s":>9} {"est. min":>8}  config']
    for name, t in plan['trainings'].items():
        lines.append(
            f'{name:<11} {t["iters"]:>8} {t["paper_iters"]:>7} '
            f'{t["val_interval"] or "-":>9} {t["step_s"]:>9.3f} '
            f'{t["compile_s"]:>9.1f} {t["estimate_s"] / 60:>8.1f}  '
            f'{t["config"]}' + ('  (shortened: Adam 1e-3, cosine)'
                                if t['short_schedule'] else ''))
    for variant in plan.get('stage2_variants', []):
        options = ', '.join(f'{k}={v!r}'
                            for k, v in variant_overrides(variant).items())
        lines.append(f'{run_name(variant):<11} as stage2, with {options}')
    if plan.get('stage2_variants'):
        lines.append('the stage-2 run with the best validation score is '
                     'handed on')
    return '\n'.join(lines)
