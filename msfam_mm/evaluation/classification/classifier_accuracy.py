"""Multi-label accuracy of the Semantic Constraint classifier (Sec. 3.5).

The paper reports that the classifier "can achieve an accuracy of more than
99%". We measure it as exact-match accuracy: a sample is correct when every
label (p_vis, p_ir), thresholded at ``thr``, equals its target ((1, 0)
visible, (0, 1) infrared, (1, 1) fused). Per-label accuracies are reported
too, and the exact-match accuracy on each kind of image, so a low overall
figure says which kind the classifier gets wrong.
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from msfam_mm.registry import METRICS

__all__ = ['multilabel_accuracy', 'ClassifierAccuracyMetric']

LABEL_NAMES = ('vis', 'ir')
#: the kinds of image Section 3.5 trains on, by their (vis, ir) target
IMAGE_KINDS = (('visible', (1, 0)), ('infrared', (0, 1)), ('fused', (1, 1)))


def multilabel_accuracy(scores: torch.Tensor, targets: torch.Tensor,
                        thr: float = 0.5) -> Dict[str, float]:
    """Exact-match and per-label accuracy (in %) of multi-label predictions.

    Args:
        scores: (N, L) probabilities.
        targets: (N, L) 0/1 targets.
        thr: a label is predicted when its probability is >= ``thr``.

    Returns:
        ``{'accuracy': ..., 'accuracy_<label>': ...}`` for the labels
        ``vis``, ``ir`` (or ``label<i>`` when L != 2); with two labels also
        ``accuracy_on_<kind>``, the exact match over the images of each
        kind present (``visible``, ``infrared``, ``fused``).

    Example:
        >>> acc = multilabel_accuracy(torch.tensor([[.9, .2], [.8, .7]]),
        ...                           torch.tensor([[1., 0.], [1., 0.]]))
        >>> acc['accuracy'], acc['accuracy_ir'], acc['accuracy_on_visible']
        (50.0, 50.0, 50.0)
    """
    scores = torch.as_tensor(scores, dtype=torch.float32)
    targets = torch.as_tensor(targets, dtype=torch.float32)
    if scores.dim() != 2 or scores.shape != targets.shape:
        raise ValueError(f'multilabel_accuracy: scores {tuple(scores.shape)} '
                         f'and targets {tuple(targets.shape)} must both be '
                         '(N, L)')
    if scores.shape[0] == 0:
        raise ValueError('multilabel_accuracy: no samples')
    correct = (scores >= thr) == (targets >= 0.5)
    names = LABEL_NAMES if scores.shape[1] == len(LABEL_NAMES) else [
        f'label{i}' for i in range(scores.shape[1])
    ]
    out = {'accuracy': 100. * correct.all(dim=1).float().mean().item()}
    for i, name in enumerate(names):
        out[f'accuracy_{name}'] = 100. * correct[:, i].float().mean().item()
    if scores.shape[1] == len(LABEL_NAMES):
        exact = correct.all(dim=1).float()
        for kind, target in IMAGE_KINDS:
            of_kind = ((targets >= 0.5) == torch.tensor(target).bool()).all(
                dim=1)
            if of_kind.any():
                out[f'accuracy_on_{kind}'] = 100. * exact[of_kind].mean(
                ).item()
    return out


@METRICS.register_module()
class ClassifierAccuracyMetric(BaseMetric):
    """mmengine metric form of :func:`multilabel_accuracy`.

    Consumes the ``'predict'`` outputs of ``SemanticConstraintModel``
    (dicts with ``pred_score`` and ``gt_label``). Keys are prefixed with
    ``constraint/`` (e.g. ``constraint/accuracy`` for ``save_best``).

    Example:
        >>> val_evaluator = dict(type='ClassifierAccuracyMetric', thr=0.5)
    """

    default_prefix: Optional[str] = 'constraint'

    def __init__(self, thr: float = 0.5, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0. < thr < 1.:
            raise ValueError(f'ClassifierAccuracyMetric: thr must be in '
                             f'(0, 1), got {thr}')
        self.thr = thr

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if sample.get('gt_label') is None:
                raise ValueError('ClassifierAccuracyMetric: a prediction has '
                                 f'no gt_label ({sample.get("img_path")}); '
                                 "set the validation datasets' label")
            self.results.append((sample['pred_score'].detach().cpu().float(),
                                 torch.as_tensor(sample['gt_label']).cpu()))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        scores = torch.stack([r[0] for r in results])
        targets = torch.stack([r[1] for r in results]).float()
        return multilabel_accuracy(scores, targets, self.thr)
