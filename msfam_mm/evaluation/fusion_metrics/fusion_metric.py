"""``FusionMetric``: the mmengine metric of stage-2 validation.

It scores the stage-2 model's fused outputs with the no-reference metrics of
Section 4.1 so that ``CheckpointHook(save_best='fusion/<KEY>')`` can keep the
best checkpoint ("We trained 20 epochs and selected the best model",
Section 4.1). Each output is converted to 8 bits exactly as inference
writes it (:func:`msfam_mm.utils.to_uint8`: min-max normalised to 0-255,
"we normalized it to 0-255 according to the maximum and minimum data
values", Section 4.1; a constant output becomes black); the sources are
scaled by 255 and rounded.

With ``balanced=True`` it also reports ``balanced`` (and ``share_V``,
``share_I``), the criterion of :mod:`.source_balance` that an output copying
one source scores low on; keep the best checkpoint by it with
``CheckpointHook(save_best='fusion/balanced', rule='greater')``.
"""
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from msfam_mm.registry import METRICS
from msfam_mm.utils.normalization import to_uint8
from .evaluate import (CONVENTIONS, PAPER_METRICS, canonical_metric_names,
                       evaluate_fusion, output_keys)
from .source_balance import BALANCE_METRICS, balance_from_values


def _image_to_uint8(img: torch.Tensor, normalize: str) -> np.ndarray:
    """One (H, W) float image -> (H, W) uint8 numpy array."""
    return to_uint8(img.detach()[None, None], normalize)[0, 0].cpu().numpy()


def _grey_2d(t: Any, key: str, where: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f'FusionMetric: {where}[{key!r}] must be a Tensor of '
                        f'shape (1, H, W), got {type(t).__name__}')
    if t.dim() == 3 and t.shape[0] == 1:
        return t[0]
    if t.dim() == 2:
        return t
    raise ValueError(f'FusionMetric: {where}[{key!r}] must have shape '
                     f'(1, H, W), got {tuple(t.shape)}')


@METRICS.register_module()
class FusionMetric(BaseMetric):
    """Fusion quality of stage-2 validation outputs (Section 4.1).

    Args:
        metrics: metric names (see ``ALL_METRICS``); default the paper's six
            (EN, MS_SSIM, MI, SCD, CC, VIF), all fast enough for validation
            (about 0.3 s per 640x512 image on one CPU core).
        convention: how per-source values combine: 'standard' (MATLAB
            suites, default), 'mean' (the paper's Eq. 9) or 'sum'.
        per_source: also report ``<M>_V`` and ``<M>_I``.
        balanced: also report ``balanced``, ``share_V`` and ``share_I``
            (:mod:`.source_balance`: ``min`` over the sources of
            ``(SSIM + CC) / 2`` with each), the model-selection criterion
            that needs both sources.
        collect_device, prefix: as in ``mmengine.evaluator.BaseMetric``;
            the default prefix is ``'fusion'``, so the keys are
            ``fusion/EN``, ``fusion/MS_SSIM``, ``fusion/MI`` ...

    ``process`` takes the stage-2 model's predictions: one dict per image
    with ``fused`` (Tensor (1, H, W), float, before normalisation), ``vis``
    and ``ir`` (Tensor (1, H, W) in [0, 1]) and ``img_path`` or ``name``.
    ``compute_metrics`` returns the mean over the images.

    Example:
        >>> metric = FusionMetric(metrics=['EN', 'CC'])
        >>> x = torch.linspace(0, 1, 64 * 64).reshape(1, 64, 64)
        >>> metric.process({}, [dict(fused=x, vis=x, ir=x, name='a')])
        >>> metric.compute_metrics(metric.results)['CC']
        1.0
        >>> metric = FusionMetric(metrics=['CC'], balanced=True)
        >>> metric.process({}, [dict(fused=x, vis=x, ir=x, name='a')])
        >>> metric.compute_metrics(metric.results)
        {'CC': 1.0, 'balanced': 1.0, 'share_V': 1.0, 'share_I': 1.0}
    """
    default_prefix: Optional[str] = 'fusion'

    def __init__(self,
                 metrics: Optional[Sequence[str]] = PAPER_METRICS,
                 convention: str = 'standard',
                 per_source: bool = False,
                 balanced: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if convention not in CONVENTIONS:
            raise ValueError(f'FusionMetric: unknown convention '
                             f'{convention!r}; choose from {CONVENTIONS}')
        self.metrics = canonical_metric_names(metrics)
        self.convention = convention
        self.per_source = per_source
        self.balanced = balanced
        # what is computed per image: the asked metrics, and the
        # criterion's per-source values when they are not among them
        self._computed = self.metrics + tuple(
            m for m in BALANCE_METRICS
            if balanced and m not in self.metrics)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Score each prediction; store one dict of values per image."""
        for i, sample in enumerate(data_samples):
            if not isinstance(sample, Mapping):
                if hasattr(sample, 'to_dict'):
                    sample = sample.to_dict()
                else:
                    raise TypeError(
                        'FusionMetric: each data sample must be a dict with '
                        f"'fused', 'vis', 'ir', got {type(sample).__name__}")
            missing = [k for k in ('fused', 'vis', 'ir') if k not in sample]
            if missing:
                raise KeyError(f'FusionMetric: data sample {i} lacks '
                               f'{missing}; it has {sorted(sample)}')
            name = str(sample.get('img_path', sample.get('name', f'#{i}')))
            fused = _image_to_uint8(_grey_2d(sample['fused'], 'fused', name),
                                    'minmax')
            vis = _image_to_uint8(_grey_2d(sample['vis'], 'vis', name), 'clip')
            ir = _image_to_uint8(_grey_2d(sample['ir'], 'ir', name), 'clip')
            try:
                values = evaluate_fusion(
                    fused, vis, ir, metrics=self._computed,
                    convention=self.convention,
                    names=[f'{name} (fused)', f'{name} (vis)',
                           f'{name} (ir)'])
            except ValueError as err:  # e.g. smaller than the SSIM window
                raise ValueError(f'FusionMetric: {name}: {err}') from None
            kept = output_keys(self.metrics) if self.per_source \
                else self.metrics
            row = {k: values[k] for k in kept}
            if self.balanced:
                row.update(balance_from_values(values))
            self.results.append(row)

    def compute_metrics(self, results: List[Dict[str, float]]
                        ) -> Dict[str, float]:
        """Mean of every metric over the processed images."""
        if not results:
            raise ValueError('FusionMetric: no results to aggregate (was '
                             'process() called on an empty dataset?)')
        keys = list(results[0])
        return {k: float(np.mean([r[k] for r in results])) for k in keys}
