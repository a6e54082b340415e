#!/usr/bin/env python
"""Export trained MSFAM weights as small fp16 state dicts for shipping.

    python tools/export_weights.py STAGE2_CHECKPOINT \
        [--classifier CLASSIFIER_CHECKPOINT] [--out-dir checkpoints] \
        [--prefix msfam_cpu] [--config configs/msfam_stage2.py]

Reads an mmengine stage-2 checkpoint (``state_dict`` keys ``net.*`` and
``classifier.*``, docs/CONTRACTS.md) with ``torch.load(weights_only=True)``
and writes

* ``OUT/PREFIX_stage2_fp16.pth``: the bare ``MSFAMNet`` state dict (no
  ``net.`` prefix) with every floating tensor cast to float16;
* ``OUT/PREFIX_classifier_fp16.pth``: the bare
  ``SemanticConstraintClassifier`` state dict, from ``--classifier`` (a
  ``SemanticConstraintModel`` checkpoint) or else from the stage-2
  checkpoint's frozen ``classifier.*`` copy.

Both files are plain ``OrderedDict[str, Tensor]`` pickles that load with
``torch.load(path, weights_only=True)``; the inference API casts them back to
float32 (``msfam_mm.apis.model_loading``). Before writing, each state dict is
loaded strictly into a freshly built module of ``--config`` and, for the
network, the fp16 weights' output on a fixed random pair is compared with the
fp32 weights' (the maximum difference is printed). Files are written to a
temporary name and renamed, so an interrupted export leaves no half file; the
inputs are never modified. The sha256 of each output is printed for
``checkpoints/README.md``.
"""
import argparse
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402

DEFAULT_CONFIG = 'configs/msfam_stage2.py'


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('stage2', help='mmengine stage-2 (MSFAMFusion) checkpoint')
    p.add_argument('--classifier', help='mmengine SemanticConstraintModel '
                   'checkpoint (default: the stage-2 checkpoint\'s frozen '
                   'classifier.* weights)')
    p.add_argument('--config', default=DEFAULT_CONFIG,
                   help='stage-2 config that builds the network and the '
                   f'classifier (default {DEFAULT_CONFIG})')
    p.add_argument('--out-dir', default='checkpoints')
    p.add_argument('--prefix', default='msfam_cpu',
                   help='output names: PREFIX_stage2_fp16.pth, '
                   'PREFIX_classifier_fp16.pth')
    return p.parse_args(argv)


def sub_state_dict(state: Dict[str, torch.Tensor], prefix: str,
                   path: str) -> 'OrderedDict[str, torch.Tensor]':
    """The entries of ``state`` under ``prefix`` with the prefix removed."""
    out = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                      if k.startswith(prefix))
    if not out:
        raise KeyError(f'checkpoint {path!r} has no weights under '
                       f'{prefix!r} (keys start with e.g. '
                       f'{sorted(state)[:3]})')
    return out


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


def save_atomic(obj, path: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def export(stage2: str, classifier: Optional[str] = None,
           config: str = DEFAULT_CONFIG, out_dir: str = 'checkpoints',
           prefix: str = 'msfam_cpu') -> Dict[str, dict]:
    """Write the fp16 network and classifier state dicts; return per output
    ``{'path', 'sha256', 'bytes', 'max_abs_diff'}``."""
    import msfam_mm  # noqa: F401  (registers modules, checkpoint allow-list)
    from mmengine.config import Config

    from msfam_mm.apis.model_loading import build_msfam_net, file_sha256
    from msfam_mm.registry import MODELS
    from msfam_mm.utils import get_state_dict, load_checkpoint_safe

    cfg = Config.fromfile(config)
    state = get_state_dict(load_checkpoint_safe(stage2), stage2)
    net_state = sub_state_dict(state, 'net.', stage2)
    if classifier is not None:
        cls_state = sub_state_dict(
            get_state_dict(load_checkpoint_safe(classifier), classifier),
            'classifier.', classifier)
        cls_src = classifier
    else:
        cls_state = sub_state_dict(state, 'classifier.', stage2)
        cls_src = stage2

    results = {}
    # network: strict load of fp32 and fp16 weights, compare outputs
    net = build_msfam_net(cfg, with_fusion=True).eval()
    net.load_state_dict(net_state, strict=True)
    check_fp16_range(net_state, stage2)
    net_half = to_fp16(net_state)
    gen = torch.Generator().manual_seed(0)
    vis = torch.rand(1, 1, 64, 80, generator=gen)
    ir = torch.rand(1, 1, 64, 80, generator=gen)
    with torch.no_grad():
        ref = net(vis, ir)
        net.load_state_dict(
            OrderedDict((k, v.float() if v.is_floating_point() else v)
                        for k, v in net_half.items()), strict=True)
        diff = (net(vis, ir) - ref).abs().max().item()
    path = osp.join(out_dir, f'{prefix}_stage2_fp16.pth')
    save_atomic(net_half, path)
    results['stage2'] = dict(path=path, source=stage2, max_abs_diff=diff)

    # classifier: strict load, compare probabilities
    cls = MODELS.build(cfg.model.classifier).eval()
    cls.load_state_dict(cls_state, strict=True)
    check_fp16_range(cls_state, cls_src)
    cls_half = to_fp16(cls_state)
    with torch.no_grad():
        ref = cls(vis)
        cls.load_state_dict(
            OrderedDict((k, v.float() if v.is_floating_point() else v)
                        for k, v in cls_half.items()), strict=True)
        diff = (cls(vis) - ref).abs().max().item()
    path = osp.join(out_dir, f'{prefix}_classifier_fp16.pth')
    save_atomic(cls_half, path)
    results['classifier'] = dict(path=path, source=cls_src,
                                 max_abs_diff=diff)

    for r in results.values():
        r['sha256'] = file_sha256(r['path'])
        r['bytes'] = osp.getsize(r['path'])
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
        print(f'export_weights.py: error: {e}', file=sys.stderr)
        return 2
    for name, r in results.items():
        print(f"{name}: {r['path']} ({r['bytes'] / 2**20:.2f} MiB) from "
              f"{r['source']}\n  sha256 {r['sha256']}\n  max |fp16 - fp32| "
              f"output difference on a random 64x80 input: "
              f"{r['max_abs_diff']:.3g}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
