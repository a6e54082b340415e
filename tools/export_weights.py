#!/usr/bin/env python
"""Export trained MSFAM weights as small fp16 state dicts for shipping.

    python tools/export_weights.py STAGE2_CHECKPOINT \
        [--classifier CLASSIFIER_CHECKPOINT] [--out-dir OUT] \
        [--prefix PREFIX] [--config CONFIG]

Reads an mmengine stage-2 checkpoint (``state_dict`` keys ``net.*`` and
``classifier.*``, docs/CONTRACTS.md) with ``torch.load(weights_only=True)``
and writes

* ``OUT/PREFIX_stage2_fp16.pth``: the bare ``MSFAMNet`` state dict (no
  ``net.`` prefix) with every floating tensor cast to float16;
* ``OUT/PREFIX_classifier_fp16.pth``: the bare
  ``SemanticConstraintClassifier`` state dict, from ``--classifier`` (a
  ``SemanticConstraintModel`` checkpoint or a bare classifier state dict
  such as a shipped file) or else from the stage-2 checkpoint's frozen
  ``classifier.*`` copy.

The defaults of OUT and PREFIX are the shipped weights' own paths
(checkpoints/README.md): an export with them replaces the shipped files,
and the tool prints the sha256 of what it replaced. An output that is one of
the input files is refused.

Both files are plain ``OrderedDict[str, Tensor]`` pickles that load with
``torch.load(path, weights_only=True)``; the inference API casts them back to
float32 (``msfam_mm.apis.model_loading``). Before anything is written, both
state dicts are loaded strictly (the project's checked loader, whose errors
name the checkpoint file) into freshly built modules of ``--config``, and
each module's output with the fp16 weights on a fixed random input is
compared with its output with the fp32 weights (the maximum difference is
printed). Then both files are written to temporary names and only when both
are complete renamed into place, so a failed export leaves neither a half
file nor one new file next to an old one; the inputs are never modified.
The sha256 of each output is printed for ``checkpoints/README.md``.
"""
import argparse
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

import torch  # noqa: E402

# the shipped config as the inference API defines it; absolute paths, so
# that the tool works from any directory
from msfam_mm.apis.model_loading import (  # noqa: E402
    DEFAULT_MSFAM_CONFIG as DEFAULT_CONFIG, file_sha256)

DEFAULT_OUT_DIR = osp.join(REPO_ROOT, 'checkpoints')
DEFAULT_PREFIX = 'msfam_cpu'


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('stage2', help='mmengine stage-2 (MSFAMFusion) checkpoint')
    p.add_argument('--classifier', help='mmengine SemanticConstraintModel '
                   'checkpoint or bare classifier state dict (default: the '
                   'stage-2 checkpoint\'s frozen classifier.* weights)')
    p.add_argument('--config', default=DEFAULT_CONFIG,
                   help='stage-2 config that builds the network and the '
                   'classifier (default: %(default)s)')
    p.add_argument('--out-dir', default=DEFAULT_OUT_DIR,
                   help='output folder (default: %(default)s, where the '
                   'shipped weights are: with the default --prefix an export '
                   'replaces them)')
    p.add_argument('--prefix', default=DEFAULT_PREFIX,
                   help='output names PREFIX_stage2_fp16.pth and '
                   'PREFIX_classifier_fp16.pth (default: %(default)s, the '
                   'shipped files)')
    return p.parse_args(argv)


def to_fp16(state: Dict[str, torch.Tensor]
            ) -> 'OrderedDict[str, torch.Tensor]':
    """Cast floating tensors to float16 (integer buffers are kept), as
    contiguous CPU tensors without autograd history."""
    out = OrderedDict()
    for k, v in state.items():
        v = v.detach().cpu()
        out[k] = (v.half() if v.is_floating_point() else v).contiguous()
    return out


def check_fp16_range(state: Dict[str, torch.Tensor], path: str) -> None:
    """Refuse weights that float16 cannot hold (|x| > 65504 -> inf)."""
    limit = torch.finfo(torch.float16).max
    for k, v in state.items():
        if v.is_floating_point() and v.numel() and \
                v.detach().abs().max().item() > limit:
            raise ValueError(f'checkpoint {path!r}: {k} has values beyond '
                             f'the float16 range ({limit}); cannot ship it '
                             'as fp16')


def save_all_atomic(items: Dict[str, object]) -> Dict[str, Optional[str]]:
    """``torch.save`` each ``{path: obj}`` to a temporary file beside it and
    rename them into place only once all are written (a failure leaves the
    old files and no temporary ones). Returns each path's previous sha256
    (None where it did not exist)."""
    from msfam_mm.utils import create_temp_file
    tmps = OrderedDict()
    try:
        for path, obj in items.items():
            folder = osp.dirname(osp.abspath(path))
            os.makedirs(folder, exist_ok=True)
            # torch.save names the zip's records after the file name minus
            # its extension: 'NAME.pth.tmpXXXX' keeps them 'NAME.pth/...',
            # as in the shipped files, so a re-export is byte-identical
            fd, tmp = create_temp_file(folder, f'{osp.basename(path)}.tmp')
            os.close(fd)
            tmps[path] = tmp
            torch.save(obj, tmp)
            with open(tmp, 'rb') as f:
                os.fsync(f.fileno())
        previous = {p: file_sha256(p) if osp.isfile(p) else None
                    for p in tmps}
        for path, tmp in tmps.items():
            os.replace(tmp, path)
        return previous
    finally:
        for tmp in tmps.values():
            if osp.exists(tmp):
                os.remove(tmp)


def _fp16_output_diff(module, half, path, *inputs) -> float:
    """Max |output(fp16 weights) - output(fp32 weights)|; leaves the fp16
    weights (cast back to fp32) in ``module``."""
    from msfam_mm.utils import load_checked_state_dict
    with torch.no_grad():
        ref = module(*inputs)
        load_checked_state_dict(module, half, path)
        return (module(*inputs) - ref).abs().max().item()


def export(stage2: str, classifier: Optional[str] = None,
           config: str = DEFAULT_CONFIG, out_dir: str = DEFAULT_OUT_DIR,
           prefix: str = DEFAULT_PREFIX) -> Dict[str, dict]:
    """Write the fp16 network and classifier state dicts; return per output
    ``{'path', 'source', 'max_abs_diff', 'sha256', 'bytes',
    'replaced_sha256'}`` (the last is None when no file was replaced)."""
    import msfam_mm  # noqa: F401  (registers modules, checkpoint allow-list)
    from mmengine.config import Config

    from msfam_mm.apis.model_loading import build_msfam_net
    from msfam_mm.registry import MODELS
    from msfam_mm.utils import load_submodule_weights, resolve_checkpoint_path

    stage2 = resolve_checkpoint_path(stage2)
    cls_src = stage2 if classifier is None else \
        resolve_checkpoint_path(classifier)
    paths = OrderedDict(
        stage2=osp.join(out_dir, f'{prefix}_stage2_fp16.pth'),
        classifier=osp.join(out_dir, f'{prefix}_classifier_fp16.pth'))
    for out in paths.values():
        for src in {stage2, cls_src}:
            if osp.exists(out) and osp.samefile(out, src):
                raise ValueError(
                    f'output {out!r} is the input checkpoint {src!r}; '
                    'choose another --out-dir or --prefix (inputs are '
                    'never modified)')

    # 1. load and check both parts; nothing is written before both pass
    cfg = Config.fromfile(config)
    net = build_msfam_net(cfg, with_fusion=True).eval()
    try:
        load_submodule_weights(net, stage2, 'net.', bare_ok=True)
    except (KeyError, RuntimeError) as e:
        raise type(e)(f'{e.args[0]}; expected a stage-2 (MSFAMFusion) '
                      'checkpoint, whose network has the fusion blocks '
                      '(a stage-1 checkpoint has not)') from None
    cls = MODELS.build(cfg.model.classifier).eval()
    load_submodule_weights(cls, cls_src, 'classifier.',
                           bare_ok=classifier is not None)

    gen = torch.Generator().manual_seed(0)
    vis = torch.rand(1, 1, 64, 80, generator=gen)
    ir = torch.rand(1, 1, 64, 80, generator=gen)
    results, halves = OrderedDict(), OrderedDict()
    for name, module, src, inputs in (('stage2', net, stage2, (vis, ir)),
                                      ('classifier', cls, cls_src, (vis,))):
        state = module.state_dict()  # the checked weights, module order
        check_fp16_range(state, src)
        half = to_fp16(state)
        diff = _fp16_output_diff(module, half, src, *inputs)
        halves[paths[name]] = half
        results[name] = dict(path=paths[name], source=src,
                             max_abs_diff=diff)

    # 2. write both, or neither
    previous = save_all_atomic(halves)
    for r in results.values():
        r['sha256'] = file_sha256(r['path'])
        r['bytes'] = osp.getsize(r['path'])
        r['replaced_sha256'] = previous[r['path']]
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    for name in ('stage2', 'classifier', 'config'):
        path = getattr(args, name)
        if path is not None and not osp.isfile(path):
            print(f'export_weights.py: error: --{name} file {path!r} does '
                  'not exist', file=sys.stderr)
            return 2
    try:
        results = export(args.stage2, args.classifier, args.config,
                         args.out_dir, args.prefix)
    except (KeyError, ValueError, RuntimeError, TypeError) as e:
        # KeyError's str() is its repr; print the message itself
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f'export_weights.py: error: {msg}', file=sys.stderr)
        return 2
    for name, r in results.items():
        if r['replaced_sha256'] is not None:
            print(f"export_weights.py: replaced {r['path']} (previous "
                  f"sha256 {r['replaced_sha256']})", file=sys.stderr)
        print(f"{name}: {r['path']} ({r['bytes'] / 2**20:.2f} MiB) from "
              f"{r['source']}\n  sha256 {r['sha256']}\n  max |fp16 - fp32| "
              f"output difference on a random 64x80 input: "
              f"{r['max_abs_diff']:.3g}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
