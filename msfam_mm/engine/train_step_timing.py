"""Seconds per optimizer step of the three MSFAM trainings, per variant.

``tools/benchmark.py --train-step`` reports these side by side, and
``tools/train_all.py`` measures them to fit a schedule to a time budget.
A variant is ``'eager:PRECISION'`` or ``'compile:PRECISION'``: the model
stepped as the Runner steps it (``model(inputs, data_samples,
mode='loss')`` under the autocast of ``tools/train.py --amp``, backward,
Adam), with the methods :class:`~msfam_mm.engine.CompileHook` compiles
compiled or not. Steps are timed round-robin (one of each variant in turn),
so a change of machine load touches every variant alike.
"""
import copy
import math
import statistics
import time
from typing import Dict, Sequence

import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from msfam_mm.utils import autocast_context
from .compile_hook import compile_methods, training_targets

__all__ = ['parse_train_variant', 'time_train_steps', 'TRAIN_STAGES']

#: the three trainings (Sections 3.3 and 3.5)
TRAIN_STAGES = ('stage1', 'stage2', 'classifier')
PRECISIONS = ('fp32', 'bf16', 'fp16')
#: the classifier's targets, Section 3.5: visible, infrared, fused
CLASSIFIER_LABELS = ((1., 0.), (0., 1.), (1., 1.))


def parse_train_variant(text: str) -> dict:
    """``'compile:bf16'`` -> ``dict(name, compile, precision)``."""
    parts = text.split(':')
    if len(parts) != 2 or parts[0] not in ('eager', 'compile') or \
            parts[1] not in PRECISIONS:
        raise ValueError(f'training variant {text!r} is not '
                         f'eager|compile:{"|".join(PRECISIONS)}')
    return dict(name=text, compile=parts[0] == 'compile',
                precision=parts[1])


def _inputs(stage: str, batch: int, h: int, w: int, device):
    gen = torch.Generator().manual_seed(0)

    def crop():
        return torch.rand(batch, 1, h, w, generator=gen).to(device)

    if stage == 'stage2':
        return dict(vis=crop(), ir=crop()), None
    if stage == 'classifier':
        labels = torch.tensor(CLASSIFIER_LABELS)[torch.arange(batch) % 3]
        return crop(), [BaseDataElement(gt_label=lbl) for lbl in labels]
    return crop(), None


def build_training_model(config: str, device) -> torch.nn.Module:
    """The model of a training config, random weights (seed 0), without the
    checkpoints it would load (speed does not depend on them)."""
    from mmengine.registry import DefaultScope

    from msfam_mm.registry import MODELS
    cfg = Config.fromfile(config).model
    for key in ('stage1_checkpoint', 'classifier_checkpoint'):
        if key in cfg:
            cfg[key] = None
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('msfam_mm'):
        model = MODELS.build(cfg).to(device)
    model.train()
    return model


def _step(run: dict, inputs, samples, device, keep_grads: bool = False):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    with autocast_context(device, run['variant']['precision']):
        losses = run['model'](inputs, samples, mode='loss')
    loss = sum(v for key, v in losses.items() if 'loss' in key)
    run['optim'].zero_grad()
    loss.backward()
    grads = None
    if keep_grads:
        grads = torch.cat([p.grad.detach().float().flatten()
                           for p in run['model'].parameters()
                           if p.grad is not None])
    run['optim'].step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return time.perf_counter() - t0, loss.item(), grads


def profile_step(run: dict, inputs, samples, device,
                 top: int = 8) -> dict:
    """One more step of ``run`` under torch.profiler: its seconds and the
    ``top`` operators by their own CPU time, with their share of it."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        _step(run, inputs, samples, device)
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total,
                 reverse=True)
    total = sum(e.self_cpu_time_total for e in ops)
    return dict(self_cpu_s=round(total / 1e6, 3), top_ops=[
        dict(name=e.key, self_cpu_s=round(e.self_cpu_time_total / 1e6, 3),
             share=round(e.self_cpu_time_total / total, 3))
        for e in ops[:top]])


def time_stage(config: str, variants: Sequence[str], batch: int, h: int,
               w: int, device='cpu', warmup: int = 1,
               repeats: int = 3, profile: bool = False) -> Dict[str, dict]:
    """Time one training config under each variant (the first is the
    reference). Per variant: the methods compiled, the first step (the
    compilation for compile variants), the median and every timed step,
    the first step's loss, whether its loss and gradients are finite, and
    against the reference the speed-up, the loss difference, and the
    cosine and relative difference of the whole gradient (same weights,
    same batch). ``profile``: also the reference's operators on one more
    step (:func:`profile_step`), under ``'profile'`` of its entry."""
    device = torch.device(device)
    base = build_training_model(config, device)
    stage = {'MSFAMReconstructor': 'stage1', 'MSFAMFusion': 'stage2'}.get(
        type(base).__name__, 'classifier')
    inputs, samples = _inputs(stage, batch, h, w, device)
    runs = {}
    for text in variants:
        variant = parse_train_variant(text)
        model = copy.deepcopy(base)
        targets = training_targets(model) if variant['compile'] else ()
        if targets:
            compile_methods(model, targets, dict(dynamic=False))
        params = [p for p in model.parameters() if p.requires_grad]
        runs[text] = dict(variant=variant, model=model, targets=targets,
                          optim=torch.optim.Adam(params, lr=1e-4), times=[])
    ref = None
    for run in runs.values():
        run['first_s'], run['first_loss'], grads = _step(
            run, inputs, samples, device, keep_grads=True)
        run['finite'] = bool(torch.isfinite(grads).all()) and math.isfinite(
            run['first_loss'])
        if ref is None:
            ref, ref_grads = run, grads
        else:
            run['grad_cosine'] = float(torch.nn.functional.cosine_similarity(
                grads, ref_grads, dim=0))
            run['grad_rel_diff'] = float(
                (grads - ref_grads).norm() / ref_grads.norm())
    for _ in range(warmup + repeats):
        for run in runs.values():
            run['times'].append(_step(run, inputs, samples, device)[0])
    out = {}
    ref_name = next(iter(runs))
    ref_profile = profile_step(ref, inputs, samples, device) \
        if profile else None
    ref_med = statistics.median(ref['times'][warmup:])
    for name, run in runs.items():
        times = run['times'][warmup:]
        med = statistics.median(times)
        entry = dict(compiled=list(run['targets']),
                     first_step_s=round(run['first_s'], 2),
                     step_s_median=round(med, 4),
                     step_s_all=[round(t, 4) for t in times],
                     first_loss=round(run['first_loss'], 6),
                     finite=run['finite'])
        if name == ref_name and ref_profile is not None:
            entry['profile'] = ref_profile
        if name != ref_name:
            entry['speedup_vs_' + ref_name] = round(ref_med / med, 3)
            entry['first_loss_diff_vs_' + ref_name] = round(
                abs(run['first_loss'] - ref['first_loss']), 6)
            entry['grad_cosine_vs_' + ref_name] = round(run['grad_cosine'], 5)
            entry['grad_rel_diff_vs_' + ref_name] = round(
                run['grad_rel_diff'], 4)
        out[name] = entry
    return out


def time_train_steps(configs: Dict[str, str], variants: Sequence[str],
                     batch: int, h: int, w: int, device='cpu',
                     warmup: int = 1, repeats: int = 3,
                     profile: bool = False) -> Dict[str, dict]:
    """:func:`time_stage` for each ``{stage: config}``: ``{stage:
    dict(config=..., variants={...})}``.

    Example:
        >>> time_train_steps({'stage1': 'configs/msfam_stage1.py'},
        ...                  ['eager:fp32'], 1, 32, 32, repeats=1,
        ...                  warmup=0)['stage1']['variants']['eager:fp32'][
        ...                  'finite']
        True
    """
    for text in variants:
        parse_train_variant(text)  # every variant checked before any runs
    return {stage: dict(config=config,
                        variants=time_stage(config, variants, batch, h, w,
                                            device, warmup, repeats,
                                            profile))
            for stage, config in configs.items()}
