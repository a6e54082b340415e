#!/usr/bin/env python
"""From nothing to weights: MSFAM's three trainings of a protocol, TNO-42
scoring and the fp16 export, in one resumable command.

    python tools/train_all.py --protocol cross --device cpu \
        --budget-minutes 120 [--data-root data/] [--work-dir DIR] \
        [--step-times FILE] [--eager] [--dry-run] [--max-iters N] \
        [--max-pairs N] [--skip-report] [--replan] \
        [--stage2-variants pull_push_only as_described]

Runs, in order (Sections 3.3-3.5, 4.1): the Semantic Constraint classifier,
stage 1, stage 2 with the full Eq. 2, then tools/make_report.py on the
protocol's test set and tools/export_weights.py (fp16). Before it starts it
measures a few compiled training steps of each (or reads --step-times, the
JSON of ``tools/benchmark.py --train-step``), fits the lengths to the budget
(msfam_mm.apis.training_plan: the paper's schedule when it fits, else every
training shortened by one factor) and prints the plan. The plan, the
configs it runs and each finished training are kept in the work dir
(default work_dirs/train_all/<protocol>): run the same command again and
it continues where it stopped, with the same plan. Each training runs as
``tools/train.py CONFIG --amp`` in its own process (bf16 autocast on CPU,
fp16 on CUDA). docs/training.md, "One command", has the GPU recipe.

--stage2-variants adds stage-2 runs of the same length from the same stage
1 and classifier, each one loss choice apart (training_plan.STAGE2_VARIANTS:
Eq. 2 without the Semantic Constraint, Pull-Push in the direction of the
paper's text). The run with the best validation score is exported and
reported as the model; the others are exported under their names and
scored as ablations.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def handed_on(cfg) -> str:
    """The file pattern of the checkpoint a training hands on: its best by
    the validation key of its CheckpointHook (``save_best``; mmengine names
    it ``best_<key with / as _>_iter_<n>.pth``), else its last."""
    key = cfg.default_hooks.checkpoint.get('save_best')
    return f'best_{key.replace("/", "_")}_iter_*.pth' if key else \
        'iter_*.pth'


def parse_args(argv=None):
    from mmengine.config import DictAction

    from msfam_mm.apis.training_plan import STAGE2_VARIANTS
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--protocol', choices=('cross', 'paper'), default='cross')
    p.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    p.add_argument('--budget-minutes', type=float, default=120.0,
                   help='wall time of the three trainings (default '
                   '%(default)s); the scoring and export come after it')
    p.add_argument('--work-dir', help='default: work_dirs/train_all/'
                   '<protocol>')
    p.add_argument('--data-root', default='data/',
                   help='holds roadscene221/, kaist_sample/, tno42/ '
                   '(data/README.md)')
    p.add_argument('--step-times', help='JSON of tools/benchmark.py '
                   '--train-step instead of measuring before the plan')
    p.add_argument('--eager', action='store_true',
                   help='train without torch.compile (no CompileHook)')
    p.add_argument('--dry-run', action='store_true',
                   help='print the plan and the commands, run nothing')
    p.add_argument('--replan', action='store_true',
                   help='fit a new plan although the work dir has one')
    p.add_argument('--max-iters', type=int,
                   help='cap every training at N updates')
    p.add_argument('--smoke', action='store_true',
                   help='check the whole chain in minutes: 2 eager updates '
                   'of batch 2 per training, validation and scoring on 2 '
                   'pairs, no timing (the weights are meaningless)')
    p.add_argument('--max-pairs', type=int, default=0,
                   help='score only the N smallest test pairs (0: all)')
    p.add_argument('--stage2-variants', nargs='*', metavar='NAME',
                   choices=list(STAGE2_VARIANTS),
                   help='more stage-2 runs, one loss choice apart, the best '
                   'on validation handed on (msfam_mm.apis.training_plan.'
                   f'STAGE2_VARIANTS: {", ".join(STAGE2_VARIANTS)}); '
                   'given on a resumed plan, they replace its variants')
    p.add_argument('--skip-report', action='store_true',
                   help='stop after the export (e.g. on a GPU machine '
                   'without the published fusions)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   default={}, metavar='KEY=VALUE',
                   help='applied to every training (e.g. '
                   'train_dataloader.batch_size=2)')
    args = p.parse_args(argv)
    variants = args.stage2_variants or []
    if len(set(variants)) != len(variants):
        p.error(f'--stage2-variants: a name given twice ({variants})')
    if variants and args.protocol == 'paper':
        # its stage 2 validates on the held-out split it is tested on
        p.error('--stage2-variants choose a run on validation images; the '
                "paper protocol's stage-2 validation images are its test "
                'split (configs/_base_/datasets/tno_roadscene_pairs.py), '
                'so use --protocol cross')
    if args.smoke:
        args.eager, args.max_iters = True, 2
        args.max_pairs = args.max_pairs or 2
    return args


def smoke_config(cfg):
    """--smoke: batch 2, validation on the first 2 images of each set."""
    cfg.train_dataloader.batch_size = 2
    val = cfg.get('val_dataloader')
    if val is not None:
        sets = val.dataset.get('datasets', [val.dataset])
        for dataset in sets:
            dataset.indices = 2


def measure_steps(args, plan_mod):
    """Seconds per update (compiled unless --eager) and of the first one,
    per training, at the paper's batch and crop."""
    from msfam_mm.engine.train_step_timing import time_stage
    precision = 'fp16' if args.device == 'cuda' else 'bf16'
    variant = f'{"eager" if args.eager else "compile"}:{precision}'
    steps = {}
    for name, config in plan_mod.PROTOCOL_CONFIGS[args.protocol].items():
        batch, h, w = plan_mod.TIMING_SHAPES[name]
        print(f'train_all: timing {name} ({variant}, batch {batch}, '
              f'{h}x{w}) ...', flush=True)
        entry = time_stage(config, [variant], batch, h, w, args.device,
                           warmup=0, repeats=2)[variant]
        steps[name] = dict(step_s=entry['step_s_median'],
                           compile_s=entry['first_step_s'])
    return steps


def steps_from_benchmark(path, eager):
    with open(path) as f:
        data = json.load(f).get('train_step', {})
    steps = {}
    for name in ('classifier', 'stage1', 'stage2'):
        variants = data.get(name, {}).get('variants', {})
        pick = [v for k, v in variants.items()
                if k.startswith('eager:' if eager else 'compile:')]
        if not pick:
            sys.exit(f'train_all: {path} has no '
                     f'{"eager" if eager else "compile"} timing of {name} '
                     '(tools/benchmark.py --train-step)')
        steps[name] = dict(step_s=pick[0]['step_s_median'],
                           compile_s=pick[0]['first_step_s'])
    return steps


def validation_seconds(protocol, data_root, steps, plan_mod, lengths):
    """Seconds of one validation per training: a forward pass is about a
    third of a training step (forward + backward); stage 2 validates whole
    images (its step time scaled by their mean pixels over the timed
    crop's) and scores each (timed here on one image of that size)."""
    import cv2
    import numpy as np
    from mmengine.registry import DATASETS, init_default_scope

    from msfam_mm.evaluation.fusion_metrics.evaluate import evaluate_fusion
    init_default_scope('msfam_mm')
    out = {}
    for name, length in lengths.items():
        if not length['val_interval']:
            continue
        batch, h, w = plan_mod.TIMING_SHAPES[name]
        cfg = plan_mod.load_config(
            plan_mod.PROTOCOL_CONFIGS[protocol][name], data_root)
        dataset = DATASETS.build(cfg.val_dataloader.dataset)
        forward = steps[name]['step_s'] / 3 / batch
        if name != 'stage2':
            out[name] = len(dataset) * forward
            continue
        pixels = np.mean([cv2.imread(dataset.get_data_info(i)['vis_path'],
                                     cv2.IMREAD_GRAYSCALE).size
                          for i in range(len(dataset))])
        side = int(np.sqrt(pixels))
        img = np.random.default_rng(0).integers(0, 256, (3, side, side),
                                                np.uint8)
        t0 = time.perf_counter()
        evaluate_fusion(*img, metrics=('EN', 'MI', 'SCD', 'SSIM', 'CC'))
        metric_s = time.perf_counter() - t0
        out[name] = len(dataset) * (forward * pixels / (h * w) + metric_s)
    return out


def count_interrupted(summary, work):
    """Add the time of trainings a stopped session interrupted: from their
    start (``summary['running']``) to their last log line (the log file's
    modification time). A training's folder is ``<work>/<its name>``
    (a stage-2 variant the plan has since dropped included)."""
    for name, started in summary.pop('running', {}).items():
        logs = glob.glob(osp.join(work, name, '*', '*.log'))
        end = max((osp.getmtime(p) for p in logs), default=started)
        if end > started:
            seconds = summary.setdefault('seconds', {})
            seconds[name] = round(seconds.get(name, 0) + end - started, 1)


def find_one(folder, pattern):
    found = sorted(glob.glob(osp.join(folder, pattern)),
                   key=osp.getmtime)
    return found[-1] if found else None


def run(cmd):
    print('train_all: $ ' + ' '.join(cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(f'train_all: the command above failed (exit '
                 f'{proc.returncode}); fix it and run train_all again: it '
                 'resumes here')
    return time.perf_counter() - t0


def run_label(run_name):
    """A stage-2 run's name in exports and report rows: its variant, or
    ``full_loss`` for the planned stage 2 (the full Eq. 2)."""
    return run_name.split('-', 1)[1] if '-' in run_name else 'full_loss'


def choose_stage2(summary, handed, variants, work):
    """The stage-2 run handed on: the planned one, or with variants the one
    whose best checkpoint has the best validation score by its config's
    save_best key and rule (recorded in ``summary['stage2_selection']``)."""
    from mmengine.config import Config

    from msfam_mm.apis import training_plan as tp
    if not variants:
        summary.pop('stage2_selection', None)
        return 'stage2'
    names = [tp.run_name(v) for v in [None] + variants]
    hook = Config.fromfile(osp.join(work, 'configs', 'stage2.py')
                           ).default_hooks.checkpoint
    key, rule = hook.get('save_best'), hook.get('rule', 'greater')
    if not key or rule not in ('greater', 'less'):
        sys.exit('train_all: stage-2 variants need a validation key and a '
                 "rule ('greater' or 'less') to choose by: the stage-2 "
                 f"config's save_best is {key!r}, rule {rule!r}")
    scores = {}
    for n in names:
        try:
            scores[n] = tp.best_validation_score(handed[n])
        except tp.PlanError as err:
            # e.g. a run whose validation never gave a finite score
            print(f'train_all: {n} is not a candidate: {err}')
    if not scores:
        sys.exit('train_all: no stage-2 run has a best validation score')
    pick = max if rule == 'greater' else min
    chosen = pick(scores, key=lambda n: scores[n][0])
    print(f'train_all: stage-2 runs by validation {key} ({rule} is '
          'better):')
    for n in scores:
        print(f'  {n:<24} {scores[n][0]:.4f} at iteration {scores[n][1]}'
              + ('  <- handed on' if n == chosen else ''))
    summary['stage2_selection'] = dict(
        key=key, rule=rule, chosen=chosen,
        scores={n: dict(score=s, iter=i) for n, (s, i) in scores.items()})
    return chosen


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config

    from msfam_mm.apis import training_plan as tp
    from msfam_mm.utils import write_text_atomic
    work = osp.abspath(args.work_dir or osp.join(
        'work_dirs', 'train_all', args.protocol))
    # the configs are named from the repository root, the user's paths
    # from where the command was given
    args.data_root = osp.abspath(args.data_root)
    if args.step_times:
        args.step_times = osp.abspath(args.step_times)
    os.chdir(REPO)
    os.makedirs(work, exist_ok=True)
    plan_path = osp.join(work, 'plan.json')
    try:
        plan = None if args.replan else tp.load_plan(plan_path)
    except tp.PlanError as err:
        sys.exit(f'train_all: {err}')
    if plan is not None:
        if plan['protocol'] != args.protocol:
            sys.exit(f'train_all: {work} holds a {plan["protocol"]} run; '
                     'use another --work-dir')
        print(f'train_all: resuming the plan of {plan_path} (budget '
              f'{plan["budget_minutes"]} min; --replan for a new one)')
        variants = args.stage2_variants
        if variants is not None and \
                variants != plan.get('stage2_variants', []):
            # they run after stage 2 and change no earlier training; each
            # costs one more stage 2
            added = len(variants) - len(plan.get('stage2_variants', []))
            plan['estimate_s'] = round(plan['estimate_s'] + added * plan[
                'trainings']['stage2']['estimate_s'], 1)
            plan['stage2_variants'] = list(variants)
            if not args.dry_run:
                tp.save_plan(plan, plan_path)
            print('train_all: stage-2 variants now '
                  f'{variants or "none"}; estimate '
                  f'{plan["estimate_s"] / 60:.1f} min', flush=True)
            if plan['estimate_s'] > plan['budget_minutes'] * 60:
                print(f'train_all: that is over the plan\'s budget of '
                      f'{plan["budget_minutes"]} min; the lengths stay as '
                      'planned (--replan fits new ones)', flush=True)
    else:
        lengths = {t: tp.paper_length(tp.load_config(c, args.data_root))
                   for t, c in tp.PROTOCOL_CONFIGS[args.protocol].items()}
        if args.smoke:
            steps = {t: dict(step_s=0.0, compile_s=0.0) for t in lengths}
        elif args.step_times:
            steps = steps_from_benchmark(args.step_times, args.eager)
        else:
            steps = measure_steps(args, tp)
        val_s = {} if args.smoke else validation_seconds(
            args.protocol, args.data_root, steps, tp, lengths)
        plan = tp.fit_plan(args.protocol, args.budget_minutes, steps, val_s,
                           args.device, lengths, args.max_iters,
                           stage2_variants=args.stage2_variants or ())
        plan['eager'] = args.eager
        plan['smoke'] = args.smoke
        plan['validation_s'] = {k: round(v, 1) for k, v in val_s.items()}
        if not args.dry_run:
            tp.save_plan(plan, plan_path)
    print(tp.format_plan(plan), flush=True)

    variants = plan.get('stage2_variants', [])
    # (run, the planned training it is, its stage-2 variant)
    runs = [(t, t, None) for t in tp.TRAININGS] + [
        (tp.run_name(v), 'stage2', v) for v in variants]
    work_dirs = {run: osp.join(work, run) for run, _, _ in runs}
    handed = {}
    summary_path = osp.join(work, 'summary.json')
    summary = {}
    if osp.isfile(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    count_interrupted(summary, work)
    for name, planned, variant in runs:
        entry = plan['trainings'][planned]
        done_path = osp.join(work_dirs[name], 'done.json')
        if osp.isfile(done_path):
            with open(done_path) as f:
                handed[name] = json.load(f)['checkpoint']
            print(f'train_all: {name} done earlier: {handed[name]}')
            continue
        config_path = osp.join(work, 'configs', f'{name}.py')
        stage2_path = osp.join(work, 'configs', 'stage2.py')
        if variant is not None and osp.isfile(stage2_path):
            # one option apart from the stage 2 that ran, whatever its
            # base config or --cfg-options are today
            cfg = Config.fromfile(stage2_path)
            cfg.work_dir = work_dirs[name]
        else:
            cfg = tp.stage_overrides(planned, entry,
                                     dict(work_dirs, **{planned:
                                                        work_dirs[name]}),
                                     handed, eager=plan.get('eager', False),
                                     extra=args.cfg_options)
            if plan.get('smoke'):
                smoke_config(cfg)
        if variant is not None:
            cfg.merge_from_dict(tp.variant_overrides(variant))
        cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'),
               config_path, '--amp', '--data-root', args.data_root]
        resuming = osp.isfile(osp.join(work_dirs[name], 'last_checkpoint'))
        if resuming:
            cmd.append('--resume')
        if args.dry_run:
            print(f'train_all: would write {config_path} and run\n  ' +
                  ' '.join(cmd))
            handed[name] = osp.join(work_dirs[name], handed_on(cfg))
            continue
        if resuming and osp.isfile(config_path):
            # a started training resumes with the config it started with,
            # even if its base config changed since
            print(f'train_all: {name} resumes with {config_path}')
        else:
            os.makedirs(osp.dirname(config_path), exist_ok=True)
            tp.write_stage_config(cfg, config_path)
        summary.setdefault('running', {})[name] = time.time()
        write_text_atomic(summary_path, json.dumps(summary, indent=2))
        seconds = run(cmd)
        summary['running'].pop(name)
        # the config it ran: a resumed training's may predate cfg
        ckpt = find_one(work_dirs[name], handed_on(Config.fromfile(
            config_path))) or find_one(work_dirs[name], 'iter_*.pth')
        if ckpt is None:
            sys.exit(f'train_all: {name} finished without a checkpoint in '
                     f'{work_dirs[name]}')
        handed[name] = ckpt
        summary.setdefault('seconds', {})[name] = round(
            summary.get('seconds', {}).get(name, 0) + seconds, 1)
        write_text_atomic(done_path, json.dumps(dict(
            checkpoint=ckpt, iters=entry['iters'],
            finished=time.strftime('%Y-%m-%d %H:%M:%S')), indent=2))
        write_text_atomic(summary_path, json.dumps(summary, indent=2))
    if args.dry_run:
        return 0
    chosen = choose_stage2(summary, handed, variants, work)
    configs = {run: osp.join(work, 'configs', f'{run}.py')
               for run, _, _ in runs}
    others = [tp.run_name(v) for v in [None] + variants
              if tp.run_name(v) != chosen]
    export_dir = osp.join(work, 'export')
    # what an earlier export of this run wrote (a dropped variant's too)
    for stale in glob.glob(osp.join(export_dir,
                                    f'msfam_{args.protocol}_*_fp16.pth')):
        os.remove(stale)
    seconds = run([sys.executable, osp.join(REPO, 'tools',
                                            'export_weights.py'),
                   handed[chosen], '--classifier', handed['classifier'],
                   '--config', configs[chosen], '--out-dir', export_dir,
                   '--prefix', f'msfam_{args.protocol}'])
    for other in others:
        seconds += run([sys.executable, osp.join(REPO, 'tools',
                                                 'export_weights.py'),
                        handed[other], '--config', configs[other],
                        '--out-dir', export_dir, '--prefix',
                        f'msfam_{args.protocol}_{run_label(other)}'])
    summary.setdefault('seconds', {})['export'] = round(seconds, 1)
    if not args.skip_report:
        report = [sys.executable, osp.join(REPO, 'tools', 'make_report.py'),
                  '--protocol', args.protocol, '--data-root', args.data_root,
                  '--config', configs[chosen],
                  '--checkpoint', handed[chosen],
                  '--classifier', handed['classifier'],
                  '--out-dir', osp.join(work, 'report'),
                  '--work-dir', osp.join(work, 'report_cache'),
                  '--speed-repeats', '0', '--max-pairs', str(args.max_pairs)]
        for name in tp.TRAININGS:
            report += ['--train-config', f'{name}=' + configs[
                chosen if name == 'stage2' else name]]
        # the stage-2 runs not chosen: ablation rows on the test set
        for other in others:
            report += ['--ablation', f'{run_label(other)}=msfam:'
                       f'{configs[other]}:{handed[other]}']
        summary['seconds']['report'] = round(run(report), 1)
    summary['checkpoints'] = handed
    write_text_atomic(summary_path, json.dumps(summary, indent=2))
    scores = 'not scored (--skip-report)' if args.skip_report else \
        f'scores in {osp.join(work, "report")}'
    print(f'train_all: done; weights in {export_dir}, {scores}, times in '
          f'{summary_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
