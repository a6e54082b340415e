"""Stage 2 of MSFAM: "fusion training" (Sections 3.3-3.6, Eq. 2)."""
from typing import Dict, List, Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel

from msfam_mm.registry import MODELS
from msfam_mm.utils import (load_submodule_weights, minmax_normalize,
                            resolve_checkpoint_path)
from ._precision import float32_losses
from .msfam_reconstructor import _sample_meta

__all__ = ['MSFAMFusion']

CONSTRAINT_INPUTS = ('minmax', 'raw')


@MODELS.register_module()
class MSFAMFusion(BaseModel):
    """End-to-end fusion training on top of the stage-1 auto-encoder.

    Section 3.3: the attention fusion blocks are inserted between the
    pre-trained encoder and decoder, the pre-trained Semantic Constraint
    classifier is attached after the network, and the loss is Eq. 2
    (``FusionLoss``). Section 4.1: the encoder and the classifier have
    learning rate 0 (here: ``requires_grad=False``, plus lr_mult 0 in the
    config), the decoder learns at half the base rate (config
    ``paramwise_cfg``), the fusion blocks at the base rate. The classifier is
    always in eval mode (:meth:`train` keeps it there; ``FreezeCheckHook``
    verifies it each iteration).

    Args:
        net: config of ``MSFAMNet`` (with fusion blocks).
        classifier: config of ``SemanticConstraintClassifier``.
        loss: config of ``FusionLoss``.
        stage1_checkpoint: stage-1 (``MSFAMReconstructor``) checkpoint; its
            ``net.encoder.*`` and ``net.decoder.*`` weights are loaded in
            :meth:`init_weights` (which ``Runner.train`` calls).
        classifier_checkpoint: ``SemanticConstraintModel`` checkpoint (its
            ``classifier.*`` weights) or the shipped bare classifier file,
            loaded in :meth:`init_weights`.
            Both paths may be glob patterns matching exactly one file.
        freeze_encoder: freeze the encoder (paper: yes).
        constraint_input: what the frozen classifier of Eq. 8 judges:
            ``'minmax'`` (default) the fused image min-max normalised per
            image, i.e. the image the model outputs (Section 4.1);
            ``'raw'`` the un-normalised network output. With ``'raw'`` and
            a weak classifier the constraint loss fell from 0.87 to 0.04
            within 60 CPU iterations while the output held values far
            outside [0, 1] that no output image contains
            (docs/training.md).
        data_preprocessor: config of ``FusionDataPreprocessor``.

    ``forward(inputs, data_samples, mode)`` with ``inputs = {'vis': (B, 1,
    H, W), 'ir': (B, 1, H, W)}``: ``'loss'`` -> the dict of ``FusionLoss``
    terms; ``'predict'`` -> one dict per sample ``{'fused', 'vis', 'ir'}``
    (tensors (1, H, W) in [0, 1] at the input size; ``fused`` is the raw,
    un-normalised network output) plus ``img_path``, ``vis_path``,
    ``ir_path``; ``'tensor'`` -> the fused batch.

    Example:
        >>> model = MSFAMFusion()
        >>> batch = dict(vis=torch.rand(1, 1, 64, 64),
        ...              ir=torch.rand(1, 1, 64, 64))
        >>> sorted(model(batch, mode='loss'))
        ['loss_constraint', 'loss_l1', 'loss_pull_push']
    """

    #: the parts ``'predict'`` uses: a test checkpoint must hold these
    #: (``msfam_mm.utils.load_model_weights``); the classifier only enters
    #: the training loss, so the shipped network file alone can be tested
    predict_parts = ('net', )

    def __init__(self,
                 net: dict = dict(type='MSFAMNet'),
                 classifier: dict = dict(type='SemanticConstraintClassifier'),
                 loss: dict = dict(type='FusionLoss'),
                 stage1_checkpoint: Optional[str] = None,
                 classifier_checkpoint: Optional[str] = None,
                 freeze_encoder: bool = True,
                 constraint_input: str = 'minmax',
                 data_preprocessor: Optional[dict] = dict(
                     type='FusionDataPreprocessor'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.net = MODELS.build(net)
        if len(getattr(self.net, 'fusion_blocks', ())) == 0:
            raise ValueError('MSFAMFusion: net must have fusion blocks '
                             '(MSFAMNet with_fusion=True)')
        self.classifier = MODELS.build(classifier)
        self.loss_module = MODELS.build(loss)
        self.stage1_checkpoint = stage1_checkpoint
        self.classifier_checkpoint = classifier_checkpoint
        self.freeze_encoder = freeze_encoder
        if constraint_input not in CONSTRAINT_INPUTS:
            raise ValueError(f'MSFAMFusion: constraint_input must be one of '
                             f'{CONSTRAINT_INPUTS}, got {constraint_input!r}')
        self.constraint_input = constraint_input
        self._freeze()

    def _freeze(self) -> None:
        frozen = [self.classifier] + ([self.net.encoder]
                                      if self.freeze_encoder else [])
        for module in frozen:
            for param in module.parameters():
                param.requires_grad_(False)
        self.classifier.eval()

    def train(self, mode: bool = True) -> 'MSFAMFusion':
        super().train(mode)
        # Section 3.5: the constraint network is frozen after its training.
        self.classifier.eval()
        return self

    def init_weights(self) -> None:
        """Initialise, then load the stage-1 and classifier checkpoints."""
        super().init_weights()
        if self.stage1_checkpoint:
            path = resolve_checkpoint_path(self.stage1_checkpoint)
            for part in ('encoder', 'decoder'):
                load_submodule_weights(
                    getattr(self.net, part), path,
                    src_prefix=f'net.{part}.', strict=True)
            print_log(f'MSFAMFusion: loaded encoder and decoder from {path}',
                      logger='current')
        else:
            print_log('MSFAMFusion: no stage1_checkpoint, the encoder and '
                      'decoder start from random weights (not the paper\'s '
                      'multi-stage training)', logger='current',
                      level=30)
        if self.classifier_checkpoint:
            path = resolve_checkpoint_path(self.classifier_checkpoint)
            # a SemanticConstraintModel checkpoint, or the shipped bare
            # classifier file (checkpoints/msfam_cpu_classifier_fp16.pth)
            load_submodule_weights(self.classifier, path,
                                   src_prefix='classifier.', strict=True,
                                   bare_ok=True)
            print_log(f'MSFAMFusion: loaded the Semantic Constraint '
                      f'classifier from {path}', logger='current')
        elif getattr(self.loss_module, 'constraint_weight', 0) > 0:
            print_log('MSFAMFusion: no classifier_checkpoint, the Semantic '
                      'Constraint loss uses an untrained classifier',
                      logger='current', level=30)
        self._freeze()

    def constraint_scores(self,
                          fused: torch.Tensor) -> Optional[torch.Tensor]:
        """What the Semantic Constraint loss (Eq. 8) receives for ``fused``
        (B, 1, H, W): the frozen classifier's probabilities (or logits when
        the loss takes logits) of the min-max normalised image, or of the
        raw output with ``constraint_input='raw'``; ``None`` when the loss
        has no constraint term. Gradients flow through it into ``fused``.
        """
        if getattr(self.loss_module, 'constraint_weight', 1.) <= 0:
            return None
        if self.constraint_input == 'minmax':
            fused = minmax_normalize(fused)
        if getattr(self.loss_module, 'from_logits', False):
            return self.classifier.forward_logits(fused)
        return self.classifier(fused)

    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[list] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], list,
                                               torch.Tensor]:
        if not isinstance(inputs, dict) or not {'vis', 'ir'} <= set(inputs):
            raise ValueError('MSFAMFusion: inputs must be a dict with "vis" '
                             'and "ir" batches (PackFusionInputs keys=("vis", '
                             f'"ir")), got {type(inputs).__name__}')
        vis, ir = inputs['vis'], inputs['ir']
        fused = self.net(vis, ir)
        if mode == 'loss':
            with float32_losses(fused):
                fused = fused.float()
                # the classifier is frozen but the gradient flows through
                # it into the fused image (Eq. 8)
                probs = self.constraint_scores(fused)
                return self.loss_module(vis.float(), ir.float(), fused,
                                        probs)
        if mode == 'predict':
            samples = data_samples or [None] * vis.shape[0]
            results: List[dict] = []
            for i, sample in enumerate(samples):
                results.append(
                    dict(fused=fused[i].detach().float(), vis=vis[i],
                         ir=ir[i],
                         img_path=_sample_meta(sample, 'img_path'),
                         vis_path=_sample_meta(sample, 'vis_path'),
                         ir_path=_sample_meta(sample, 'ir_path')))
            return results
        if mode == 'tensor':
            return fused
        raise ValueError(f'MSFAMFusion: invalid mode {mode!r} '
                         "(use 'loss', 'predict' or 'tensor')")
