#!/usr/bin/env python
"""How strongly each term of the stage-2 loss (Eq. 2) pulls on the fused
image: the mean |dL_term / dF| of every weighted term of ``FusionLoss`` with
respect to the network output, on one crop of a real pair.

    python tools/loss_gradients.py --net work_dirs/msfam_stage2_cpu_full/iter_50.pth \
        --classifier checkpoints/msfam_cpu_classifier_fp16.pth \
        --vis ../shared/data/tno42/vi/05.png --ir ../shared/data/tno42/ir/05.png

The figure behind docs/training.md's "its gradient dominates": with a
classifier that is right on only part of the images, the Semantic
Constraint term (Eq. 8) can outweigh Pull-Push (Algorithm 2) and L1 by an
order of magnitude. The model runs in eval mode (BatchNorm statistics
fixed) and fp32; the loss weights are the config's (``configs/
msfam_stage2.py``: L1 1, alpha_2 0.84, beta 2). Pixels within ``--margin``
of the crop border are left out of the means: the MS-SSIM windows are
padded there. Prints JSON.
"""
import argparse
import json


import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default='configs/msfam_stage2.py',
                   help='stage-2 config: network and loss weights')
    p.add_argument('--net', required=True,
                   help='stage-2 weights: a training checkpoint of '
                   'MSFAMFusion or a bare MSFAMNet state dict (shipped)')
    p.add_argument('--classifier', required=True,
                   help='classifier weights: a training checkpoint or a '
                   'bare SemanticConstraintClassifier state dict (shipped)')
    p.add_argument('--vis', required=True)
    p.add_argument('--ir', required=True)
    p.add_argument('--crop', nargs=4, type=int, metavar=('Y', 'X', 'H', 'W'),
                   help='crop of the pair (default: the central 128x128)')
    p.add_argument('--margin', type=int, default=8,
                   help='border pixels left out of the means')
    return p.parse_args(argv)


def read_grey(path: str):
    from msfam_mm.datasets.transforms.loading import read_grey_image
    try:
        return read_grey_image(path)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f'error: {err}') from None


def load_weights(module, path: str, prefix: str) -> None:
    """Load ``path`` into ``module``: keys under ``prefix`` of a training
    checkpoint, or a bare state dict of the module itself."""
    from msfam_mm.utils import prefixed_or_bare_state_dict
    try:
        state = prefixed_or_bare_state_dict(path, prefix)
    except (FileNotFoundError, RuntimeError, TypeError) as err:
        raise SystemExit(f'error: {err}') from None
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise SystemExit(f'error: {path!r} does not fit '
                         f'{type(module).__name__}: {err}') from None


def crop_pair(vis, ir, crop, vis_path):
    if vis.shape != ir.shape:
        raise SystemExit(f'error: {vis_path!r} is {vis.shape}, the infrared '
                         f'image is {ir.shape}')
    h_img, w_img = vis.shape
    if crop is None:
        h, w = min(128, h_img), min(128, w_img)
        y, x = (h_img - h) // 2, (w_img - w) // 2
    else:
        y, x, h, w = crop
    if y < 0 or x < 0 or h < 1 or w < 1 or y + h > h_img or x + w > w_img:
        raise SystemExit(f'error: --crop {y} {x} {h} {w} is outside '
                         f'{vis_path!r} ({h_img}x{w_img})')
    return vis[y:y + h, x:x + w], ir[y:y + h, x:x + w], (y, x, h, w)


def loss_gradients(model, vis, ir, margin: int) -> dict:
    """``{term: {'value', 'mean_abs_grad'}}`` for every term the model's
    loss returns, on (1, 1, H, W) inputs in [0, 1]."""
    model.eval()
    fused = model.net(vis, ir).detach().requires_grad_(True)
    probs = model.constraint_scores(fused)
    terms = model.loss_module(vis, ir, fused, probs)
    h, w = fused.shape[-2:]
    if 2 * margin >= min(h, w):
        raise SystemExit(f'error: --margin {margin} leaves nothing of a '
                         f'{h}x{w} crop')
    out = {}
    for name, value in terms.items():
        (grad, ) = torch.autograd.grad(value, fused, retain_graph=True)
        inner = grad[..., margin:h - margin, margin:w - margin]
        out[name] = dict(value=float(value),
                         mean_abs_grad=float(inner.abs().mean()))
    return out


def main(argv=None) -> None:
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import msfam_mm  # noqa: F401  (registers the modules)
    from msfam_mm.registry import MODELS
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'msfam_mm'))
    model_cfg = cfg.model.copy()
    model_cfg.update(stage1_checkpoint=None, classifier_checkpoint=None)
    model = MODELS.build(model_cfg)
    load_weights(model.net, args.net, 'net.')
    load_weights(model.classifier, args.classifier, 'classifier.')
    vis, ir, box = crop_pair(read_grey(args.vis), read_grey(args.ir),
                             args.crop, args.vis)
    as_tensor = lambda a: torch.from_numpy(a).float()[None, None] / 255.  # noqa: E731,E501
    torch.manual_seed(0)
    result = loss_gradients(model, as_tensor(vis), as_tensor(ir), args.margin)
    ref = result.get('loss_pull_push', {}).get('mean_abs_grad')
    if ref:
        for term in result.values():
            term['relative_to_pull_push'] = term['mean_abs_grad'] / ref
    print(json.dumps(dict(vis=args.vis, ir=args.ir, crop=box,
                          margin=args.margin, net=args.net,
                          classifier=args.classifier,
                          loss=str(model.loss_module).replace('\n', ' '),
                          terms=result), indent=2))


if __name__ == '__main__':
    main()
