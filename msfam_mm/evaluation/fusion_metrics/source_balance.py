"""Source balance: a model-selection criterion that needs both sources.

Most fusion metrics reward an output that copies one source: MI, VIF and
the joint Qabf of ``F = I`` are high, and a model kept by them can drift
toward passing the infrared band through. The balance criterion scores
what the output keeps of *each* source and takes the worse one::

    share_V = (SSIM(F, V) + CC(F, V)) / 2
    share_I = (SSIM(F, I) + CC(F, I)) / 2
    balanced = min(share_V, share_I)

SSIM (Wang et al. 2004, 11x11 Gaussian windows) measures the local
structure the output shares with a source, CC (Pearson over all pixels)
the global intensity pattern. Both are 1 for ``F`` equal to that source,
so ``balanced(F=V=I) = 1``; for ``F = I`` it is
``(SSIM(V, I) + CC(V, I)) / 2``, the similarity of the two sources
themselves, which on TNO is near 0 (their CC is negative on average).
docs/metrics.md ("Model selection: fusion/balanced") has the reasons for
this form against the alternatives and :func:`copy_study`'s table on real
TNO pairs, published fusions and copies of either source.

Example:
    >>> x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    >>> source_balance(x, x, x)
    {'balanced': 1.0, 'share_V': 1.0, 'share_I': 1.0}
"""
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from .evaluate import evaluate_fusion

#: the per-source metrics the criterion is made of
BALANCE_METRICS = ('SSIM', 'CC')
#: the keys :func:`source_balance` returns (and ``FusionMetric`` reports
#: with ``balanced=True``)
BALANCE_KEYS = ('balanced', 'share_V', 'share_I')


def balance_from_values(values: Mapping[str, float]) -> Dict[str, float]:
    """The criterion from per-source values of
    :func:`~.evaluate.evaluate_fusion` (``SSIM_V``, ``SSIM_I``, ``CC_V``,
    ``CC_I``), so that a caller that computed them pays nothing more.

    Example:
        >>> balance_from_values(dict(SSIM_V=0.4, CC_V=-0.2,
        ...                          SSIM_I=1.0, CC_I=1.0))
        {'balanced': 0.1, 'share_V': 0.1, 'share_I': 1.0}
    """
    missing = [f'{m}_{s}' for m in BALANCE_METRICS for s in 'VI'
               if f'{m}_{s}' not in values]
    if missing:
        raise KeyError(f'source balance needs the per-source values '
                       f'{missing}; evaluate_fusion(metrics='
                       f'{",".join(BALANCE_METRICS)}) gives them')
    share_v = 0.5 * (values['SSIM_V'] + values['CC_V'])
    share_i = 0.5 * (values['SSIM_I'] + values['CC_I'])
    return dict(balanced=float(min(share_v, share_i)),
                share_V=float(share_v), share_I=float(share_i))


def source_balance(fused: np.ndarray, vis: np.ndarray, ir: np.ndarray,
                   names: Optional[Sequence[str]] = None
                   ) -> Dict[str, float]:
    """``balanced``, ``share_V`` and ``share_I`` of one 8-bit triple.

    Args:
        fused, vis, ir: uint8 images, (H, W) or (H, W, 3) RGB, one size
            (as :func:`~.evaluate.evaluate_fusion` takes them).
        names: names of the three images for error messages.
    """
    return balance_from_values(
        evaluate_fusion(fused, vis, ir, metrics=BALANCE_METRICS,
                        names=names))


# ----------------------------------------------------------- copy study ---
#: weight of the visible image in the near-copy blend of :func:`copy_study`
#: (the output a model drifting toward the infrared band gives)
NEAR_COPY_VIS_WEIGHT = 0.1
#: per-source values :func:`copy_study` reports next to the criterion
STUDY_KEYS = BALANCE_KEYS + ('SSIM_V', 'SSIM_I', 'CC_V', 'CC_I')


def _baselines(vis: np.ndarray, ir: np.ndarray) -> Dict[str, np.ndarray]:
    v, i = vis.astype(np.float64), ir.astype(np.float64)
    w = NEAR_COPY_VIS_WEIGHT

    def to_u8(x):
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)

    return {'output = ir': ir, 'output = vis': vis,
            f'{w:g} vis + {1 - w:g} ir': to_u8(w * v + (1 - w) * i),
            'mean of both': to_u8(0.5 * (v + i))}


def copy_study(tno_root: Union[str, Path],
               fusions_root: Union[str, Path],
               methods: Sequence[str],
               stems: Optional[Sequence[str]] = None
               ) -> Dict[str, Dict[str, float]]:
    """The criterion for copies of a source and for real fusions.

    On the pairs ``<tno_root>/{vi,ir}/<stem>.*`` scores, as outputs:
    the infrared image, the visible image, the near-copy
    ``0.1 vis + 0.9 ir``, the mean of both, and each published fusion
    ``<fusions_root>/<method>/<stem>.*``.

    Args:
        tno_root: folder with ``vi/`` and ``ir/``.
        fusions_root: folder with one sub-folder of fused images per method.
        methods: the methods (sub-folders) to score.
        stems: the pairs (file stems); ``None`` = every pair.

    Returns:
        ``{candidate: {key: mean over the pairs}}`` for :data:`STUDY_KEYS`
        and ``'pairs'``, candidates in the order above.
    """
    from .folder_scores import ScoringError, list_images, read_image_rgb
    from ._utils import to_gray_uint8

    root, fusions_root = Path(tno_root), Path(fusions_root)
    vis_files = list_images(root / 'vi', 'visible')
    ir_files = list_images(root / 'ir', 'infrared')
    method_files = {m: list_images(fusions_root / m, m) for m in methods}
    stems = sorted(vis_files) if stems is None else list(stems)
    if not stems:
        raise ValueError('copy_study: no pairs to score')
    folders = [(root / 'vi', vis_files), (root / 'ir', ir_files)] + [
        (fusions_root / m, files) for m, files in method_files.items()]
    for stem in stems:
        for folder, files in folders:
            if stem not in files:
                raise ScoringError(
                    f'copy_study: {folder} has no image {stem!r}')
    values: Dict[str, List[Dict[str, float]]] = {}
    for stem in stems:
        vis = to_gray_uint8(read_image_rgb(vis_files[stem]),
                            str(vis_files[stem]))
        ir = to_gray_uint8(read_image_rgb(ir_files[stem]),
                           str(ir_files[stem]))
        outputs = _baselines(vis, ir)
        for m in methods:
            outputs[m] = read_image_rgb(method_files[m][stem])
        for name, fused in outputs.items():
            per_source = evaluate_fusion(
                fused, vis, ir, metrics=BALANCE_METRICS,
                names=[f'{name} {stem}', str(vis_files[stem]),
                       str(ir_files[stem])])
            row = dict(per_source, **balance_from_values(per_source))
            values.setdefault(name, []).append(row)
    return {name: dict({k: float(np.mean([r[k] for r in rows]))
                        for k in STUDY_KEYS}, pairs=len(rows))
            for name, rows in values.items()}


def format_study(study: Mapping[str, Mapping[str, float]]) -> str:
    """A markdown table of :func:`copy_study`'s result."""
    head = '| output | ' + ' | '.join(STUDY_KEYS) + ' |'
    lines = [head, '|' + '---|' * (len(STUDY_KEYS) + 1)]
    for name, row in study.items():
        lines.append(f'| {name} | '
                     + ' | '.join(f'{row[k]:.3f}' for k in STUDY_KEYS)
                     + ' |')
    return '\n'.join(lines)
