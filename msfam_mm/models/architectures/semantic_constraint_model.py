"""Training of the Semantic Constraint classifier (Section 3.5)."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from msfam_mm.registry import MODELS
from .msfam_reconstructor import _sample_meta

__all__ = ['SemanticConstraintModel']


@MODELS.register_module()
class SemanticConstraintModel(BaseModel):
    """Multi-label visible/infrared classifier trained with BCE.

    Section 3.5: "we train the constraint module as a multi-label
    classification model using BCE loss": visible images -> (1, 0),
    infrared -> (0, 1), fused images -> (1, 1). The targets come with the
    data samples as ``gt_label`` (see the datasets' ``label`` argument).
    The BCE is computed on the classifier's logits (numerically stable
    equivalent of BCE on its sigmoid probabilities).

    Args:
        classifier: config of ``SemanticConstraintClassifier``.
        data_preprocessor: config of ``FusionDataPreprocessor``.

    ``'predict'`` returns dicts ``{'pred_score' (2,), 'gt_label' (2,) or
    None, 'img_path'}`` for ``ClassifierAccuracyMetric``.

    Example:
        >>> from mmengine.structures import BaseDataElement
        >>> model = SemanticConstraintModel()
        >>> s = BaseDataElement(gt_label=torch.tensor([1., 0.]))
        >>> sorted(model(torch.rand(1, 1, 64, 64), [s], mode='loss'))
        ['loss_bce']
    """

    def __init__(self,
                 classifier: dict = dict(type='SemanticConstraintClassifier'),
                 data_preprocessor: Optional[dict] = dict(
                     type='FusionDataPreprocessor'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.classifier = MODELS.build(classifier)

    @staticmethod
    def _labels(data_samples: Optional[list], n: int,
                device) -> Optional[torch.Tensor]:
        if not data_samples:
            return None
        labels = [getattr(s, 'gt_label', None) for s in data_samples]
        if any(lbl is None for lbl in labels):
            return None
        if len(labels) != n:
            raise ValueError(f'SemanticConstraintModel: {len(labels)} data '
                             f'samples for a batch of {n} images')
        return torch.stack([torch.as_tensor(lbl, dtype=torch.float32)
                            for lbl in labels]).to(device)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], list,
                                               torch.Tensor]:
        logits = self.classifier.forward_logits(inputs)
        if mode == 'loss':
            labels = self._labels(data_samples, inputs.shape[0],
                                  logits.device)
            if labels is None:
                raise ValueError('SemanticConstraintModel: training needs a '
                                 'gt_label in every data sample (set the '
                                 "datasets' label argument)")
            if labels.shape != logits.shape:
                raise ValueError(f'SemanticConstraintModel: labels '
                                 f'{tuple(labels.shape)} do not match logits '
                                 f'{tuple(logits.shape)}')
            return dict(loss_bce=F.binary_cross_entropy_with_logits(
                logits.float(), labels))
        probs = torch.sigmoid(logits.float())
        if mode == 'predict':
            labels = self._labels(data_samples, inputs.shape[0],
                                  logits.device)
            samples = data_samples or [None] * inputs.shape[0]
            results: List[dict] = []
            for i, sample in enumerate(samples):
                results.append(
                    dict(pred_score=probs[i].detach(),
                         gt_label=None if labels is None else labels[i],
                         img_path=_sample_meta(sample, 'img_path')))
            return results
        if mode == 'tensor':
            return probs
        raise ValueError(f'SemanticConstraintModel: invalid mode {mode!r} '
                         "(use 'loss', 'predict' or 'tensor')")
