#!/usr/bin/env python
"""Train an msfam_mm config with mmengine's Runner.

    python tools/train.py configs/msfam_stage1.py [--work-dir DIR]
        [--resume [auto|CHECKPOINT]] [--amp] [--data-root DIR]
        [--from-scratch] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch}]

Multi-GPU / multi-process: tools/dist_train.sh CONFIG N (torchrun). On a
machine without CUDA the processes talk over gloo.
"""
import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Train an MSFAM model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CHECKPOINT, or from the latest '
                        'checkpoint of the work dir when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: AmpOptimWrapper on CUDA, '
                        'bfloat16 AutocastOptimWrapper on CPU')
    parser.add_argument('--data-root', help='set the data_root of every '
                        'dataset of the config (default: the config\'s, '
                        'data/)')
    parser.add_argument('--from-scratch', action='store_true',
                        help='detection configs: train the backbone from '
                        'scratch when its ImageNet weights are missing (not '
                        "the paper's setting; without this flag the paper "
                        'configs stop and name the file they need)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. '
                        'train_dataloader.batch_size=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    from msfam_mm.utils import parse_config_arguments
    args = parse_config_arguments(parser, argv)
    if args.resume not in (None, 'auto') and not osp.isfile(args.resume):
        parser.error(f'--resume: checkpoint {args.resume!r} does not exist')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def enable_amp(cfg) -> None:
    import torch
    optim = cfg.optim_wrapper
    kind = optim.get('type', 'OptimWrapper')
    if kind in ('AmpOptimWrapper', 'AutocastOptimWrapper'):
        return
    if kind != 'OptimWrapper':
        raise SystemExit(f'--amp: cannot switch optim_wrapper type {kind!r} '
                         'to mixed precision')
    if torch.cuda.is_available():
        optim.type = 'AmpOptimWrapper'
        optim.loss_scale = 'dynamic'
    else:
        optim.type = 'AutocastOptimWrapper'
        optim.dtype = 'bfloat16'


def allow_scratch(cfg, config: str) -> None:
    try:
        from msfam_mm.detection import allow_training_from_scratch
    except ImportError as err:
        raise SystemExit(f'--from-scratch: applies to the detection configs, '
                         f'which need msfam_mm[detection] ({err})')
    if allow_training_from_scratch(cfg.model) == 0:
        raise SystemExit(f'--from-scratch: {config} loads no optional '
                         'pretrained weights (no PretrainedIfAvailable '
                         'initializer)')


def build_cfg(args):
    from mmengine.config import Config

    from msfam_mm.utils import set_data_root
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        enable_amp(cfg)
    if args.from_scratch:
        allow_scratch(cfg, args.config)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    import msfam_mm  # noqa: F401  (registers modules, safe checkpoint load)
    from mmengine.runner import Runner

    from msfam_mm.engine.distributed import setup_cpu_distributed
    cfg = build_cfg(args)
    if args.resume == 'auto':
        from mmengine.runner import find_latest_checkpoint
        if find_latest_checkpoint(cfg.work_dir) is None:
            # mmengine starts from scratch here (the auto-resume of
            # restarted jobs); say so loudly: a mistyped --work-dir would
            # otherwise restart a long run unnoticed
            print(f'train.py: WARNING: --resume found no checkpoint in '
                  f'{cfg.work_dir!r}; training starts from iteration 0',
                  file=sys.stderr)
    setup_cpu_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
