#!/usr/bin/env python
"""Speed, memory, complexity and precision effects of MSFAM and the
NestFuse-strategy baseline on every inference backend, side by side in one
run.

    python tools/benchmark.py \
        --checkpoint checkpoints/msfam_cpu_stage2_fp16.pth --shape 512 640 \
        [--variants torch:fp32 torch:bf16:cl openvino:bf16 ...] \
        [--vis V --ir I] [--repeats 3] [--kaist-root DIR --kaist-frames 8] \
        [--fuse-tool-frames 8] [--memory 512x640 2160x3840] [--out FILE]
    python tools/benchmark.py --train-step 4 256 320 \
        [--train-variants eager:bf16 compile:bf16] [--train-stages ...]

A variant is ``BACKEND:PRECISION`` plus optional ``:cl`` (channels-last) and
``:compile`` (``torch.compile``) for the torch backend; the first variant is
the reference the others are compared with. Variants a machine cannot run
(bf16 without native support, a backend not installed) are listed as
skipped. Latencies are measured round-robin (one call of each variant in
turn, ``--repeats`` rounds after ``--warmup``), so a change of machine load
touches every variant alike and the ratios hold within the run.

Prints JSON: per method parameters and MACs (mmengine's counter; its
"flops" are multiply-accumulates), per variant the median latency at batch
``--batch-size`` and frames/s, the speed-up over the reference and over
``torch:bf16:cl`` when measured, the difference of its fused image to the
reference one (mean/max absolute, PSNR) and the relative change of each
fusion metric (Section 4.1). ``--memory`` fuses one pair per variant and
size in a fresh process and reports its peak resident memory.
``--kaist-root`` times ``fuse_kaist`` end to end (decode, fuse, encode,
write) on a few frames with the fastest variant against its model-only
figure; ``--fuse-tool-frames N`` times the whole ``tools/fuse.py`` process
on N KAIST frames with the default settings and with ``--backend torch
--precision bf16``. ``--train-step B H W`` times training steps instead
(stage 1, stage 2 and the classifier, forward + loss + backward + Adam,
eager against compiled as ``CompileHook`` trains:
msfam_mm.engine.train_step_timing).
Without checkpoints the networks are randomly initialised
(``torch.manual_seed(0)``): speed does not depend on the weights, precision
differences do.
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

#: what the benchmark compares by default (docs/benchmarks.md)
DEFAULT_VARIANTS = ('torch:fp32', 'torch:bf16:cl', 'onnxruntime:fp32',
                    'openvino:fp32', 'openvino:bf16')
#: metrics compared between variants (the quality goal's six, Section 4.1)
GOAL_METRICS = ('EN', 'MI', 'SCD', 'VIF', 'Qabf', 'SSIM')


def parse_args(argv=None):
    from msfam_mm.engine.train_step_timing import TRAIN_STAGES
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
    p.add_argument('--variants', nargs='+', default=list(DEFAULT_VARIANTS),
                   help='BACKEND:PRECISION[:cl][:compile] per variant; the '
                   'first is the reference (default: %(default)s)')
    p.add_argument('--classifier-config',
                   default='configs/msfam_constraint.py',
                   help='the classifier of --train-step')
    p.add_argument('--train-variants', nargs='+',
                   default=['eager:bf16', 'compile:bf16'],
                   help='eager|compile:PRECISION per --train-step variant; '
                   'the first is the reference (default: %(default)s)')
    p.add_argument('--train-profile', action='store_true',
                   help='with --train-step: the top operators of one more '
                   'step of the reference variant (torch.profiler)')
    p.add_argument('--train-stages', nargs='+', default=list(TRAIN_STAGES),
                   choices=TRAIN_STAGES,
                   help='the training runs --train-step times')
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
    p.add_argument('--fuse-tool-frames', type=int, default=0,
                   help='with --kaist-root: time the whole tools/fuse.py '
                   'process on this many frames, default settings vs '
                   '--backend torch --precision bf16')
    p.add_argument('--memory', nargs='+', default=[], metavar='HxW',
                   help='peak resident memory of one fused pair per variant '
                   'and size, each in a fresh process')
    p.add_argument('--memory-variants', nargs='+',
                   default=['openvino:bf16', 'onnxruntime:fp32',
                            'torch:fp32'],
                   help='variants of --memory (default: %(default)s)')
    p.add_argument('--memory-child', nargs=3, metavar=('VARIANT', 'H', 'W'),
                   help=argparse.SUPPRESS)
    p.add_argument('--skip-macs', action='store_true')
    p.add_argument('--train-step', nargs=3, type=int,
                   metavar=('BATCH', 'H', 'W'),
                   help='instead of inference, time training steps '
                   '(forward, loss, backward, Adam) of stage 1 '
                   '(--stage1-config), stage 2 (--config) and the '
                   'classifier (--classifier-config) per --train-variants '
                   'on random crops of this size (bf16 = the autocast of '
                   'tools/train.py --amp; compile = CompileHook)')
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
        from msfam_mm.batch_fusion import discover_kaist_frames
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


def parse_variant(text):
    """``'torch:bf16:cl:compile'`` -> dict(backend, precision, cl, compile)."""
    parts = text.split(':')
    if len(parts) < 2 or any(f not in ('cl', 'compile') for f in parts[2:]):
        raise SystemExit(f'benchmark.py: variant {text!r} is not '
                         'BACKEND:PRECISION[:cl][:compile]')
    return dict(name=text, backend=parts[0], precision=parts[1],
                cl='cl' in parts[2:], compile='compile' in parts[2:])


def build_variant(method, config, ckpt, variant, device, tile_size=0):
    """The fuser of a variant, or the reason it cannot run here
    (``tile_size``: 0 never tiles, ``None`` tiles from the memory budget)."""
    from msfam_mm.apis import build_fuser
    extra = {}
    if variant['backend'] == 'torch':
        extra = dict(channels_last=variant['cl'], compile=variant['compile'])
    try:
        return build_fuser(method, config, ckpt, device=device,
                           backend=variant['backend'],
                           precision=variant['precision'],
                           tile_size=tile_size, **extra), None
    except (ValueError, ImportError) as err:
        return None, str(err)


def call_model(fuser, v, r):
    """One model call on prepared tensors; seconds."""
    if fuser.device.type == 'cuda':
        torch.cuda.synchronize(fuser.device)
    t0 = time.perf_counter()
    with torch.inference_mode(), fuser.autocast():
        out = fuser.fuse_tensor(v, r)
    out.float().sum().item()  # forces completion
    if fuser.device.type == 'cuda':
        torch.cuda.synchronize(fuser.device)
    return time.perf_counter() - t0


def time_round_robin(fusers, vis, ir, batch, warmup, repeats):
    """Seconds per model call of every fuser, one call each in turn."""
    inputs = {name: (f._to_tensor(np.stack([vis] * batch)),
                     f._to_tensor(np.stack([ir] * batch)))
              for name, f in fusers.items()}
    times = {name: [] for name in fusers}
    for k in range(warmup + repeats):
        for name, f in fusers.items():
            t = call_model(f, *inputs[name])
            if k >= warmup:
                times[name].append(t)
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
    from msfam_mm.evaluation.fusion_metrics import evaluate_fusion
    return {k: round(float(v), 5) for k, v in evaluate_fusion(
        fused, vis, ir, metrics=list(GOAL_METRICS)).items()}


def metric_change(metrics, ref):
    """Relative change of each metric against the reference, in %."""
    return {k: round(100.0 * (metrics[k] - ref[k]) / abs(ref[k]), 3)
            if ref[k] else None for k in metrics}


def diff(a, b):
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(d ** 2))
    return dict(mean_abs=round(float(np.mean(np.abs(d))), 4),
                max_abs=int(np.max(np.abs(d))),
                psnr_db=round(10 * np.log10(255 ** 2 / mse), 2)
                if mse > 0 else float('inf'))


def kaist_frames(args):
    from msfam_mm.batch_fusion import discover_kaist_frames
    return [f for f in discover_kaist_frames(args.kaist_root)
            if f.visible and f.lwir][:args.kaist_frames]


def end_to_end(args, method, config, ckpt, variant, tmp):
    """fuse_kaist on a few frames with one variant: frames/s in all."""
    from msfam_mm.batch_fusion import fuse_kaist
    frames = kaist_frames(args)
    image_set = os.path.join(tmp, f'bench_{method}.txt')
    Path(image_set).write_text('\n'.join(f.frame_id for f in frames) + '\n')
    out = os.path.join(tmp, f'e2e_{method}')
    options = dict(tile_size=0)
    if variant['backend'] == 'torch':
        options.update(channels_last=variant['cl'],
                       compile=variant['compile'])
    res = fuse_kaist(args.kaist_root, out, method=method, config=config,
                     checkpoint=ckpt, image_set=os.path.abspath(image_set),
                     device=args.device, backend=variant['backend'],
                     precision=variant['precision'],
                     batch_size=args.batch_size, workers=1,
                     annotations='none', progress=False,
                     method_options=options)
    s = res['shard']
    return dict(variant=variant['name'], frames=s['counts']['fused'],
                model_share_of_wall=round(s['timings']['model_s']
                                          / s['timings']['wall_s'], 4),
                wall_s=round(s['timings']['wall_s'], 2),
                frames_per_s=s['timings']['frames_per_s'],
                model_s=round(s['timings']['model_s'], 2),
                wait_input_s=round(s['timings']['wait_input_s'], 3))


def fuse_tool_process(args, ckpt, tmp):
    """Wall time of the whole ``tools/fuse.py`` process on KAIST frames:
    default settings against ``--backend torch --precision bf16``."""
    import subprocess
    vis_dir, ir_dir = Path(tmp, 'tool_vis'), Path(tmp, 'tool_ir')
    vis_dir.mkdir()
    ir_dir.mkdir()
    frames = kaist_frames(args)[:args.fuse_tool_frames]
    for k, f in enumerate(frames):
        os.symlink(os.path.abspath(f.visible),
                   vis_dir / f'{k:04d}{Path(f.visible).suffix}')
        os.symlink(os.path.abspath(f.lwir),
                   ir_dir / f'{k:04d}{Path(f.lwir).suffix}')
    tool = Path(__file__).with_name('fuse.py')
    out = {}
    for name, extra in (('default', []),
                        ('torch_bf16', ['--backend', 'torch',
                                        '--precision', 'bf16'])):
        cmd = [sys.executable, str(tool), '--vis', str(vis_dir), '--ir',
               str(ir_dir), '--out', str(Path(tmp, f'tool_{name}')),
               '--method', 'msfam', '--checkpoint', ckpt, '--no-progress',
               '--device', args.device, *extra]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            raise RuntimeError(f'{" ".join(cmd)} failed: {res.stderr}')
        out[name] = dict(frames=len(frames),
                         wall_s=round(time.perf_counter() - t0, 2))
    out['speedup_default_vs_torch_bf16'] = round(
        out['torch_bf16']['wall_s'] / out['default']['wall_s'], 3)
    return out


def memory_child(args, ckpt):
    """One fused pair with one variant in this process: peak RSS."""
    variant = parse_variant(args.memory_child[0])
    h, w = int(args.memory_child[1]), int(args.memory_child[2])
    fuser, why = build_variant('msfam', args.config, ckpt, variant,
                               args.device, tile_size=None)
    if fuser is None:
        raise SystemExit(f'benchmark.py: {variant["name"]}: {why}')
    rng = np.random.default_rng(0)
    vis = rng.integers(0, 256, (h, w), np.uint8)
    t0 = time.perf_counter()
    fuser(vis, vis[::-1].copy())
    print(json.dumps(dict(peak_rss_gb=round(peak_rss_kb() / 2 ** 20, 2),
                          seconds=round(time.perf_counter() - t0, 1),
                          tiles=list(_tiles(fuser, h, w)))))
    return 0


def peak_rss_kb():
    """This process's peak resident memory (VmHWM: unlike getrusage's
    ru_maxrss it starts afresh at exec, not at the parent's peak)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise RuntimeError('no VmHWM in /proc/self/status')


def _tiles(fuser, h, w):
    from msfam_mm.deploy import tile_grid
    tile = fuser.tile_for(1)
    return tile_grid(h, w, tile, fuser.tile_overlap) \
        if tile and max(h, w) > tile else (1, 1)


def peak_memory(args, ckpt):
    import subprocess
    out = {}
    for size in args.memory:
        h, w = (int(x) for x in size.lower().split('x'))
        for name in args.memory_variants:
            cmd = [sys.executable, os.path.abspath(__file__),
                   '--config', args.config, '--checkpoint', ckpt,
                   '--device', args.device,
                   '--memory-child', name, str(h), str(w)]
            res = subprocess.run(cmd, capture_output=True, text=True)
            key = f'{h}x{w} {name}'
            if res.returncode:
                out[key] = dict(error=res.stderr.strip().splitlines()[-1:])
            else:
                out[key] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import msfam_mm  # noqa: F401
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
        variants=args.variants, repeats=args.repeats, warmup=args.warmup,
        methods={})
    if args.train_step:
        from msfam_mm.engine.train_step_timing import time_train_steps
        batch, h, w = args.train_step
        configs = dict(stage1=args.stage1_config, stage2=args.config,
                       classifier=args.classifier_config)
        try:
            timings = time_train_steps(
                {s: configs[s] for s in args.train_stages},
                args.train_variants, batch, h, w, device=args.device,
                warmup=args.warmup, repeats=args.repeats,
                profile=args.train_profile)
        except ValueError as err:  # a malformed variant
            raise SystemExit(f'benchmark.py: {err}')
        result['train_step'] = dict(batch_h_w=list(args.train_step),
                                    **timings)
        return _emit(result, args)
    vis, ir, source = load_pair(args, shape)
    result['input'] = source
    variants = [parse_variant(v) for v in args.variants]
    with tempfile.TemporaryDirectory() as tmp:
        s2, s1, weights = checkpoints(args, tmp)
        result['weights'] = weights
        if args.memory_child:
            return memory_child(args, s2)
        for method in args.methods:
            config = args.config if method == 'msfam' else args.stage1_config
            ckpt = s2 if method == 'msfam' else s1
            entry = dict(config=config, variants={}, skipped={})
            fusers = {}
            for v in variants:
                fuser, why = build_variant(method, config, ckpt, v,
                                           args.device)
                if fuser is None:
                    entry['skipped'][v['name']] = why
                else:
                    fusers[v['name']] = fuser
            if not fusers:
                result['methods'][method] = entry
                continue
            ref_name = next(iter(fusers))
            ref_fuser = fusers[ref_name]
            if not args.skip_macs and ref_fuser.net is not None:
                entry.update(complexity(ref_fuser, shape))
            times = time_round_robin(fusers, vis, ir, args.batch_size,
                                     args.warmup, args.repeats)
            medians = {n: statistics.median(t) for n, t in times.items()}
            ref_out = ref_fuser(vis, ir)
            ref_metrics = paper_metrics(ref_out, vis, ir)
            for name, fuser in fusers.items():
                med = medians[name]
                fused = ref_out if name == ref_name else fuser(vis, ir)
                metrics = ref_metrics if name == ref_name else \
                    paper_metrics(fused, vis, ir)
                p = dict(backend=fuser.backend, precision=fuser.precision,
                         latency_s_median=round(med, 3),
                         latency_s_all=[round(t, 3) for t in times[name]],
                         frames_per_s=round(args.batch_size / med, 4),
                         metrics=metrics)
                for other in (ref_name, 'torch:bf16:cl'):
                    if other != name and other in medians:
                        p['speedup_vs_' + other] = round(
                            medians[other] / med, 3)
                if name != ref_name:
                    p['diff_vs_' + ref_name] = diff(fused, ref_out)
                    p['metric_change_pct_vs_' + ref_name] = metric_change(
                        metrics, ref_metrics)
                entry['variants'][name] = p
            fastest = min(medians, key=medians.get)
            entry['fastest'] = fastest
            if args.kaist_root and method == 'msfam':
                e2e = end_to_end(args, method, config, ckpt,
                                 parse_variant(fastest), tmp)
                e2e['ratio_to_model_only'] = round(
                    e2e['frames_per_s'] / entry['variants'][fastest][
                        'frames_per_s'], 3)
                entry['fuse_kaist_end_to_end'] = e2e
            del fusers, ref_fuser
            result['methods'][method] = entry
        if args.kaist_root and args.fuse_tool_frames:
            result['fuse_tool_process'] = fuse_tool_process(args, s2, tmp)
        if args.memory:
            result['peak_memory'] = peak_memory(args, s2)
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
