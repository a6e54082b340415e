#!/usr/bin/env python
"""Speed, complexity and precision effects of MSFAM and the NestFuse-strategy
baseline on one machine, in one run.

    python tools/benchmark.py --config configs/msfam_stage2.py \
        --shape 512 640 --device cpu [--precision fp32 bf16] \
        [--checkpoint K] [--stage1-config configs/msfam_stage1.py] \
        [--stage1-checkpoint K1] [--vis V --ir I] [--repeats 3] \
        [--kaist-root DIR --kaist-frames 4]
    python tools/benchmark.py --train-step 4 128 128 --precision fp32 bf16

Prints JSON: per method parameters and MACs (mmengine's counter; its
"flops" are multiply-accumulates), per precision the median latency over
``--repeats`` timed runs after ``--warmup`` runs at batch 1 and frames/s, and
for every precision other than fp32 the difference of its fused image to the
fp32 one (mean/max absolute difference, PSNR) and the paper's metrics
(Section 4.1) of both. Without checkpoints the networks are randomly
initialised (``torch.manual_seed(0)``): speed and MACs do not depend on the
weights, precision differences do (report them with trained weights once
they exist). ``--kaist-root`` also times ``fuse_kaist`` end to end (decode,
fuse, encode, write) on a few frames and reports its throughput relative to
the model-only figure. ``--train-step B H W`` times training steps
instead (stage 1 and stage 2, forward + loss + backward + Adam, per
precision): the figures behind the CPU schedules of ``configs/cpu/``.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default='configs/msfam_stage2.py')
    p.add_argument('--checkpoint', help='stage-2 weights (default: random)')
    p.add_argument('--stage1-config', default='configs/msfam_stage1.py')
    p.add_argument('--stage1-checkpoint',
                   help='stage-1 weights for the NestFuse-strategy baseline '
                   '(default: the stage-2 ones, else random)')
    p.add_argument('--methods', nargs='+', default=['msfam', 'nestfuse'],
                   choices=('msfam', 'nestfuse'))
    p.add_argument('--shape', nargs=2, type=int, default=[512, 640],
                   metavar=('H', 'W'))
    p.add_argument('--device', default='cpu')
    p.add_argument('--precision', nargs='+', default=['fp32', 'bf16'],
                   choices=('fp32', 'bf16', 'fp16'))
    p.add_argument('--channels-last', choices=('auto', 'on', 'off'),
                   default='auto')
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int,
                   help='torch intra-op threads (default: torch default)')
    p.add_argument('--vis', help='visible image (default: KAIST sample '
                   'frame if --kaist-root, else random noise)')
    p.add_argument('--ir', help='infrared image')
    p.add_argument('--kaist-root', help='KAIST-layout folder for the '
                   'end-to-end fuse_kaist measurement')
    p.add_argument('--kaist-frames', type=int, default=4)
    p.add_argument('--skip-macs', action='store_true')
    p.add_argument('--train-step', nargs=3, type=int,
                   metavar=('BATCH', 'H', 'W'),
                   help='instead of inference, time one training step '
                   '(forward, loss, backward, Adam) of stage 1 '
                   '(--stage1-config) and stage 2 (--config) per '
                   '--precision on random crops of this size (bf16 = '
                   'the autocast of tools/train.py --amp)')
    p.add_argument('--out', help='also write the JSON to this file')
    args = p.parse_args(argv)
    if (args.vis is None) != (args.ir is None):
        p.error('--vis and --ir go together (one image pair)')
    return args


def cpu_flags():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                    return {k: k in flags for k in
                            ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16')}
    except OSError:
        pass
    return {}


def load_pair(args, shape):
    import cv2
    from msfam_mm.apis.base_fuser import prepare_pair
    vis, ir = args.vis, args.ir
    if vis is None and args.kaist_root:
        from msfam_mm.apis.kaist_frames import discover_kaist_frames
        f = next(f for f in discover_kaist_frames(args.kaist_root)
                 if f.visible and f.lwir)
        vis, ir = f.visible, f.lwir
    if vis is None:
        rng = np.random.default_rng(0)
        return (rng.integers(0, 256, shape, np.uint8),
                rng.integers(0, 256, shape, np.uint8), 'random noise')
    v, i, _ = prepare_pair(vis, ir)
    size = (shape[1], shape[0])
    if v.shape != tuple(shape):
        v = cv2.resize(v, size, interpolation=cv2.INTER_AREA)
        i = cv2.resize(i, size, interpolation=cv2.INTER_AREA)
    return v, i, f'{vis} + {ir}'


def checkpoints(args, tmp):
    """Paths of the weights to use; random-init ones saved into ``tmp``."""
    from msfam_mm.apis.model_loading import build_msfam_net
    s2 = args.checkpoint
    if s2 is None:
        torch.manual_seed(0)
        net = build_msfam_net(args.config)
        s2 = os.path.join(tmp, 'random_stage2.pth')
        torch.save(dict(state_dict={f'net.{k}': v for k, v in
                                    net.state_dict().items()}), s2)
    s1 = args.stage1_checkpoint or s2
    return s2, s1, 'random init (seed 0)' if args.checkpoint is None \
        else 'checkpoint'


def time_model(fuser, vis, ir, batch, warmup, repeats):
    """Median seconds per model call on prepared tensors (no I/O)."""
    from msfam_mm.apis.base_fuser import autocast_context
    v = fuser._to_tensor(np.stack([vis] * batch))
    r = fuser._to_tensor(np.stack([ir] * batch))
    times = []
    with torch.inference_mode():
        for k in range(warmup + repeats):
            if fuser.device.type == 'cuda':
                torch.cuda.synchronize(fuser.device)
            t0 = time.perf_counter()
            with autocast_context(fuser.device, fuser.precision):
                out = fuser.fuse_tensor(v, r)
            out = out.float().sum().item()  # forces completion
            if fuser.device.type == 'cuda':
                torch.cuda.synchronize(fuser.device)
            if k >= warmup:
                times.append(time.perf_counter() - t0)
    return times


def complexity(fuser, shape):
    from mmengine.analysis import get_model_complexity_info

    class Wrapped(torch.nn.Module):
        def __init__(self, f):
            super().__init__()
            self.f = f
            self.net = f.net

        def forward(self, vis, ir):
            return self.f.fuse_tensor(vis, ir)

    x = torch.rand(1, 1, *shape, device=fuser.device)
    with torch.no_grad():
        info = get_model_complexity_info(Wrapped(fuser), inputs=(x, x.clone()),
                                         show_table=False, show_arch=False)
    n_params = sum(p.numel() for p in fuser.net.parameters())
    return dict(params=n_params, macs=int(info['flops']),
                gmacs=round(info['flops'] / 1e9, 2))


def paper_metrics(fused, vis, ir):
    try:
        from msfam_mm.evaluation.fusion_metrics import evaluate_fusion
        return {k: round(float(v), 4) for k, v in evaluate_fusion(
            fused, vis, ir, metrics=['EN', 'MI', 'SCD', 'CC']).items()}
    except Exception as e:  # noqa: BLE001  (metrics are optional here)
        return dict(error=str(e))


def diff(a, b):
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(d ** 2))
    return dict(mean_abs=round(float(np.mean(np.abs(d))), 4),
                max_abs=int(np.max(np.abs(d))),
                psnr_db=round(10 * np.log10(255 ** 2 / mse), 2)
                if mse > 0 else float('inf'))


def end_to_end(args, method, config, ckpt, precision, tmp):
    from msfam_mm.apis.kaist_fusion import fuse_kaist
    from msfam_mm.apis.kaist_frames import discover_kaist_frames
    frames = [f for f in discover_kaist_frames(args.kaist_root)
              if f.visible and f.lwir][:args.kaist_frames]
    image_set = os.path.join(tmp, f'bench_{method}_{precision}.txt')
    Path(image_set).write_text('\n'.join(f.frame_id for f in frames) + '\n')
    out = os.path.join(tmp, f'e2e_{method}_{precision}')
    res = fuse_kaist(args.kaist_root, out, method=method, config=config,
                     checkpoint=ckpt, image_set=os.path.abspath(image_set),
                     device=args.device, precision=precision,
                     batch_size=args.batch_size, workers=1,
                     annotations='none', progress=False)
    s = res['shard']
    return dict(frames=s['counts']['fused'],
                wall_s=round(s['timings']['wall_s'], 2),
                frames_per_s=s['timings']['frames_per_s'],
                model_s=round(s['timings']['model_s'], 2),
                wait_input_s=round(s['timings']['wait_input_s'], 3))


def time_train_steps(args):
    """Median seconds per optimizer step of the stage-1 and stage-2 models.

    The models are built from the configs (random weights, seed 0; the
    checkpoints a config names are not loaded: speed does not depend on
    them) and stepped as the Runner steps them: ``model(inputs,
    mode='loss')`` under the precision's autocast (what ``--amp``'s optim
    wrapper enters), backward, Adam step.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from msfam_mm.apis.base_fuser import autocast_context
    from msfam_mm.registry import MODELS
    init_default_scope('msfam_mm')
    batch, h, w = args.train_step
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(0)
    out = {}
    for stage, config in (('stage1', args.stage1_config),
                          ('stage2', args.config)):
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(config).model).to(device)
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        optim = torch.optim.Adam(params, lr=1e-4)

        def crop():
            return torch.rand(batch, 1, h, w, generator=gen).to(device)

        inputs = crop() if stage == 'stage1' else dict(vis=crop(),
                                                       ir=crop())
        entry = {}
        for prec in args.precision:
            times = []
            for k in range(args.warmup + args.repeats):
                t0 = time.perf_counter()
                with autocast_context(device, prec):
                    losses = model(inputs, mode='loss')
                loss = sum(v for key, v in losses.items() if 'loss' in key)
                optim.zero_grad()
                loss.backward()
                optim.step()
                if device.type == 'cuda':
                    torch.cuda.synchronize(device)
                if k >= args.warmup:
                    times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            entry[prec] = dict(step_s_median=round(med, 3),
                               step_s_all=[round(t, 3) for t in times])
            first = args.precision[0]
            if prec != first:
                entry[prec]['speedup_vs_' + first] = round(
                    entry[first]['step_s_median'] / med, 3)
        out[stage] = dict(config=config, precisions=entry)
    return out


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import msfam_mm  # noqa: F401
    from msfam_mm.apis import build_fuser
    shape = tuple(args.shape)
    result = dict(
        command=' '.join([os.path.basename(sys.argv[0])] + (
            argv if argv is not None else sys.argv[1:])),
        machine=dict(platform=platform.platform(),
                     processor=platform.processor(),
                     cpu_count=os.cpu_count(),
                     torch_threads=torch.get_num_threads(),
                     cpu_flags=cpu_flags(),
                     load_avg_start=os.getloadavg(),
                     cuda=torch.cuda.get_device_name(0)
                     if torch.cuda.is_available() else None),
        torch=torch.__version__, shape=list(shape),
        batch_size=args.batch_size, device=args.device,
        repeats=args.repeats, warmup=args.warmup, methods={})
    if args.train_step:
        result['train_step'] = dict(batch_h_w=list(args.train_step),
                                    **time_train_steps(args))
        return _emit(result, args)
    vis, ir, source = load_pair(args, shape)
    result['input'] = source
    cl = dict(auto=None, on=True, off=False)[args.channels_last]
    with tempfile.TemporaryDirectory() as tmp:
        s2, s1, weights = checkpoints(args, tmp)
        result['weights'] = weights
        for method in args.methods:
            config = args.config if method == 'msfam' else args.stage1_config
            ckpt = s2 if method == 'msfam' else s1
            entry = dict(config=config, precisions={})
            ref = None
            for prec in args.precision:
                fuser = build_fuser(method, config, ckpt, device=args.device,
                                    precision=prec, channels_last=cl)
                if 'params' not in entry and not args.skip_macs:
                    entry.update(complexity(fuser, shape))
                times = time_model(fuser, vis, ir, args.batch_size,
                                   args.warmup, args.repeats)
                med = statistics.median(times)
                fused = fuser(vis, ir)
                p = dict(latency_s_median=round(med, 3),
                         latency_s_all=[round(t, 3) for t in times],
                         frames_per_s=round(args.batch_size / med, 4),
                         channels_last=fuser.channels_last,
                         metrics=paper_metrics(fused, vis, ir))
                if ref is None:
                    ref = (prec, fused, med)
                else:
                    p['speedup_vs_' + ref[0]] = round(ref[2] / med, 3)
                    p['diff_vs_' + ref[0]] = diff(fused, ref[1])
                if args.kaist_root:
                    e2e = end_to_end(args, method, config, ckpt, prec, tmp)
                    e2e['ratio_to_model_only'] = round(
                        e2e['frames_per_s'] / p['frames_per_s'], 3)
                    p['fuse_kaist_end_to_end'] = e2e
                entry['precisions'][prec] = p
                del fuser
            result['methods'][method] = entry
    return _emit(result, args)


def _emit(result, args):
    result['machine']['load_avg_end'] = os.getloadavg()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
