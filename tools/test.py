#!/usr/bin/env python
"""Evaluate a checkpoint on a config's test split (mmengine test loop).

    python tools/test.py configs/msfam_stage2.py CHECKPOINT [--work-dir DIR]
        [--data-root DIR] [--cfg-options KEY=VALUE ...] [--precise-bn N]
        [--launcher {none,pytorch}]

For stage 2 this scores the fused outputs of the 10 % held-out pairs with
FusionMetric (Section 4.1's metrics); for the classifier it reports the
multi-label accuracy. The checkpoint is read with weights_only=True and
loaded strictly: a training checkpoint of the config's model, or one of the
shipped bare fp16 state dicts (checkpoints/: the network for stage 2, the
classifier for configs/*constraint*.py); a file that does not match is an
error, not an evaluation of untrained weights. ``--precise-bn N`` first
recomputes the BatchNorm statistics over N batches of the config's training
data (``msfam_mm.engine.PreciseBNHook``; the classifier's saved running
averages can lag its weights, docs/training.md).
"""
import argparse
import os
import os.path as osp


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Test an MSFAM checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the test logs go')
    parser.add_argument('--data-root', help='set the data_root of every '
                        'dataset of the config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries')
    parser.add_argument('--precise-bn', type=int, default=0, metavar='N',
                        help='recompute BatchNorm statistics over N training '
                        'batches before testing (0: use the saved ones)')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    from msfam_mm.utils import parse_config_arguments
    args = parse_config_arguments(parser, argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    import msfam_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.runner import Runner

    from msfam_mm.engine import (calibration_loader, recompute_bn_statistics,
                                 runner_model)
    from msfam_mm.utils import (load_model_weights, parts_with_parameters,
                                set_data_root)
    from msfam_mm.engine.distributed import setup_cpu_distributed

    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'test.py: checkpoint {args.checkpoint!r} does not '
                         'exist')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.precise_bn < 0:
        raise SystemExit('test.py: --precise-bn must be >= 0')
    if cfg.get('test_dataloader') is None or cfg.get('test_cfg') is None:
        raise SystemExit(f'test.py: {args.config} defines no test loop '
                         '(stage 1 has none)')
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    # the test checkpoint holds every weight: skip the stage-2 init loading
    if cfg.model.get('type') == 'MSFAMFusion':
        cfg.model.stage1_checkpoint = None
        cfg.model.classifier_checkpoint = None
    cfg.load_from = None
    setup_cpu_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    model = runner_model(runner)
    try:
        loaded = load_model_weights(model, args.checkpoint)
    except (KeyError, RuntimeError) as err:
        raise SystemExit(f'test.py: {err}') from err
    others = [n for n in parts_with_parameters(model) if n not in loaded]
    runner.logger.info(
        f'test.py: loaded {loaded} from {args.checkpoint}'
        + (f'; not in it (left as built): {others}' if others else ''))
    if args.precise_bn:
        try:
            used = recompute_bn_statistics(model, calibration_loader(runner),
                                           args.precise_bn)
        except ValueError as err:
            raise SystemExit(f'test.py: --precise-bn: {err}') from err
        runner.logger.info(f'test.py: BatchNorm statistics recomputed over '
                           f'{used} training batches')
    metrics = runner.test()
    print(metrics)


if __name__ == '__main__':
    main()
