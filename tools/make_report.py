#!/usr/bin/env python
"""Generate the results tables and figure of a fusion model under a test
protocol: <out-dir>/<protocol>.md and <out-dir>/figures/<protocol>_tno42.png
(msfam_mm.evaluation.fusion_report; the analysis is docs/RESULTS.md).

Commands: docs/RESULTS.md, "Regenerating". Resumes from --work-dir (fused
images under the weights' sha256, scores cached with their inputs'
sha256). --max-pairs N: the N smallest pairs of each test set.
--fuse-budget-s S: score the pairs the models fused within S seconds.
"""
import argparse
import os.path as osp
import sys
import time
from collections import OrderedDict

import torch

from msfam_mm.apis import list_fusers
from msfam_mm.apis.model_loading import load_msfam_net
from msfam_mm.batch_fusion.missing import fuse_missing
from msfam_mm.evaluation import fusion_report as fr
from msfam_mm.evaluation.fusion_report import model_size, tables
from msfam_mm.evaluation.fusion_report.classifier import classifier_accuracy
from msfam_mm.evaluation.fusion_report.figures import write_methods_figure
from msfam_mm.registry import FUSERS
from msfam_mm.utils import write_text_atomic

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--protocol', choices=list(fr.PROTOCOLS), default='paper')
    p.add_argument('--out-dir', default='docs/results')
    p.add_argument('--out', help='the Markdown file (default: '
                   '<out-dir>/<protocol>.md; figures beside it)')
    p.add_argument('--data-root', default='data/')
    p.add_argument('--split', help='held-out pair list (paper protocol)',
                   default=osp.join(REPO, 'data', 'splits',
                                    'tno_roadscene_test.txt'))
    p.add_argument('--config', default='configs/msfam_stage2.py')
    p.add_argument('--checkpoint',
                   default='checkpoints/msfam_cpu_stage2_fp16.pth')
    p.add_argument('--classifier',
                   default='checkpoints/msfam_cpu_classifier_fp16.pth')
    p.add_argument('--train-config', action='append', default=[],
                   metavar='ROLE=CONFIG', help='a training config whose images'
                   ' the report states (stage1, classifier, stage2); default: '
                   "the protocol's (fusion_report.protocols.PROTOCOLS)")
    p.add_argument('--work-dir', default='work_dirs/report')
    p.add_argument('--workers', type=int, default=2)
    p.add_argument('--max-pairs', type=int, default=0, metavar='N')
    p.add_argument('--speed-repeats', type=int, default=3,
                   help='timed 640x512 forward passes (0: skip)')
    p.add_argument('--fuse-budget-s', type=float, default=0, metavar='S')
    p.add_argument('--macs-size', type=int, nargs=2, default=(256, 320),
                   metavar=('H', 'W'))
    p.add_argument('--ablation', action='append', default=[],
                   metavar='NAME=METHOD:CONFIG:CHECKPOINT')
    p.add_argument('--ablation-pairs', type=int, default=0, metavar='N',
                   help='score the ablations on the N smallest TNO-42 pairs')
    p.add_argument('--figure-pairs', type=int, default=3, metavar='N')
    p.add_argument('--figure-methods', default='DenseFuse,SeAFusion,U2Fusion')
    return p.parse_args(argv)


def fuse(method, pairs, work_dir, deadline=None):
    done = fuse_missing(pairs, lambda k: method.fused_path(work_dir, k),
                        method.fuser, method.config, method.checkpoint,
                        deadline=deadline, name=method.name)
    if done['failures']:
        raise fr.ReportError(f'{method.name}: ' + '; '.join(
            f"{f['key']}: {f['reason']}" for f in done['failures']))


def build_report(args, command: str) -> fr.ReportData:
    for name in ('config', 'checkpoint', 'classifier'):
        if not osp.isfile(getattr(args, name)):
            raise fr.ReportError(f'{name} {getattr(args, name)!r} does not '
                                 'exist')
    specs = args.train_config or fr.PROTOCOLS[args.protocol].train_configs
    if not specs:
        raise fr.ReportError(f'protocol {args.protocol}: name the training '
                             'configs (--train-config ROLE=CONFIG) so that '
                             'the report states which images each model saw')
    training = [fr.training_data(path, args.data_root, role)
                for role, path in map(fr.parse_role_config, specs)]
    sets = fr.load_test_sets(args.protocol, args.data_root, args.split,
                             args.max_pairs)
    shipped = fr.Method(fr.SHIPPED, 'msfam', args.config, args.checkpoint,
                        kind='shipped')
    baselines = fr.classic_baselines(list_fusers(), FUSERS)
    published = fr.published_methods(args.data_root)
    ablations = [fr.parse_ablation(s) for s in args.ablation]
    shown_methods = fr.select(published, args.figure_methods)
    every = fr.smallest_first(OrderedDict(
        p for s in sets.values() for p in s.items()))
    for m in baselines:  # a minute for all; the budget is for the models
        fuse(m, every, args.work_dir)
    deadline = time.time() + args.fuse_budget_s if args.fuse_budget_s > 0 \
        else None
    fuse(shipped, every, args.work_dir, deadline)
    groups = OrderedDict((k, [shipped] + (published if k == fr.TNO42 else [])
                          + baselines) for k in sets)
    if ablations:
        sets['ablation'] = fr.smallest_first(sets[fr.TNO42],
                                             args.ablation_pairs)
        groups['ablation'] = [shipped] + ablations
        for m in ablations:
            fuse(m, sets['ablation'], args.work_dir, deadline)
    results, missing = fr.score_groups(groups, sets, args.work_dir,
                                       args.workers)
    protocol = fr.PROTOCOLS[args.protocol]
    keys = list(results[protocol.classifier_set][fr.SHIPPED])
    acc = classifier_accuracy(
        args.config, args.classifier, {k: every[k] for k in keys},
        fr.classifier_groups(baselines + [shipped] + published, keys,
                             args.work_dir))
    comp = model_size.complexity(load_msfam_net(args.config, args.checkpoint),
                                 args.speed_repeats,
                                 macs_size=tuple(args.macs_size))
    tno = list(results[fr.TNO42][fr.SHIPPED])
    shown = (fr.unseen_pairs(tno, training) or tno)[:args.figure_pairs]
    figure = f'figures/{args.protocol}_tno42.png'
    write_methods_figure(osp.join(args.out_dir, figure),
                         {k: every[k] for k in shown},
                         [shipped] + shown_methods, args.work_dir)
    header = tables.provenance(
        command, model_size.git_commit(REPO),
        f'{model_size.cpu_name()}, {torch.get_num_threads()} torch threads',
        args.checkpoint, shipped.sha256, args.config, args.classifier)
    return fr.ReportData(protocol, header, training, results, missing, comp,
                         acc, args.ablation_pairs, figure)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.out:
        args.out_dir = osp.dirname(args.out) or '.'
    try:
        data = build_report(args, ' '.join(['python tools/make_report.py']
                                           + argv))
    except fr.ReportError as e:
        print(f'make_report.py: error: {e}', file=sys.stderr)
        return 2
    out = args.out or osp.join(args.out_dir, f'{args.protocol}.md')
    write_text_atomic(out, fr.render_report(data))
    print(f'wrote {out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
