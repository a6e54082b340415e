"""GFLV2 dense head (Li et al., "Generalized Focal Loss V2", CVPR 2021).

MSFAM's downstream experiment (paper Section 4.4, Table 7) trains a GFLV2
detector on KAIST images of each type. MMDetection 3.3.0 ships GFL (V1) but
not V2, so this module adds it as a subclass of :class:`mmdet.GFLHead`.

GFLV2 keeps GFL's general box distribution (one discrete distribution over
``{0, ..., reg_max}`` per box side, trained with DFL and GIoU) and adds the
*Distribution-Guided Quality Predictor* (DGQP, GFLV2 Section 3.3): the
localization quality of a box is predicted from statistics of its four side
distributions -- a sharp distribution means a confident, accurate box. The
classification-quality joint score is ``J = C * I`` (GFLV2 Eq. 4), where
``C`` is the per-class sigmoid probability and ``I`` the DGQP output. ``J`` is
a probability, so QFL must be used in its probability form and no sigmoid is
applied at inference.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import Scale
from mmdet.models.dense_heads import GFLHead
from mmdet.models.utils import filter_scores_and_topk
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmdet.utils import ConfigType, MultiConfig
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor


def distribution_statistics(bbox_pred: Tensor,
                            reg_max: int = 16,
                            topk: int = 4,
                            add_mean: bool = True) -> Tensor:
    """Statistics of the four side distributions fed to DGQP.

    GFLV2 Section 3.3, Eq. 2: for each side ``w in {l, r, t, b}`` take the
    softmax distribution ``P^w`` over ``reg_max + 1`` bins, its top-k values
    and (optionally) their mean, and concatenate the four sides.

    Args:
        bbox_pred (Tensor): Box distribution logits, shape
            ``(N, 4 * (reg_max + 1), H, W)``, the ``reg_max + 1`` bins of one
            side contiguous (the layout of ``GFLHead.gfl_reg``).
        reg_max (int): Largest value of the integral set. Defaults to 16.
        topk (int): Number of largest probabilities kept per side. GFLV2
            Table 1 uses 4. Defaults to 4.
        add_mean (bool): Append the mean of the top-k values (GFLV2 Table 1,
            "Top-k(4) + Mean"). Defaults to True.

    Returns:
        Tensor: Shape ``(N, 4 * (topk + add_mean), H, W)``; 20 channels with
        the defaults.

    Example:
        >>> logits = torch.randn(2, 68, 8, 10)
        >>> distribution_statistics(logits).shape
        torch.Size([2, 20, 8, 10])
    """
    if bbox_pred.dim() != 4:
        raise ValueError('distribution_statistics: bbox_pred must be a 4D '
                         f'tensor (N, C, H, W), got shape '
                         f'{tuple(bbox_pred.shape)}')
    n, c, h, w = bbox_pred.shape
    if c != 4 * (reg_max + 1):
        raise ValueError(
            f'distribution_statistics: bbox_pred has {c} channels, expected '
            f'4 * (reg_max + 1) = {4 * (reg_max + 1)} for reg_max={reg_max}')
    if not 1 <= topk <= reg_max + 1:
        raise ValueError(f'distribution_statistics: topk={topk} must be in '
                         f'[1, reg_max + 1 = {reg_max + 1}]')
    prob = F.softmax(bbox_pred.reshape(n, 4, reg_max + 1, h, w), dim=2)
    stats, _ = prob.topk(topk, dim=2)
    if add_mean:
        stats = torch.cat([stats, stats.mean(dim=2, keepdim=True)], dim=2)
    return stats.reshape(n, -1, h, w)


class DistributionGuidedQualityPredictor(nn.Module):
    """DGQP: localization quality from box-distribution statistics.

    GFLV2 Section 3.3, Eq. 3: ``I = sigmoid(W2 * ReLU(W1 * F))`` with
    ``F`` the statistics of :func:`distribution_statistics`, ``W1`` mapping
    ``4 * (k + 1)`` to ``p = 64`` channels and ``W2`` mapping ``p`` to 1,
    both 1x1 convolutions so the predictor runs densely on every location.

    Args:
        reg_max (int): Largest value of the integral set. Defaults to 16.
        topk (int): Top-k probabilities per side. Defaults to 4.
        hidden_channels (int): ``p`` in GFLV2 Eq. 3. Defaults to 64.
        add_mean (bool): Append the mean of the top-k. Defaults to True.

    Example:
        >>> dgqp = DistributionGuidedQualityPredictor()
        >>> quality = dgqp(torch.randn(1, 68, 16, 20))
        >>> quality.shape, bool(((quality > 0) & (quality < 1)).all())
        (torch.Size([1, 1, 16, 20]), True)
    """

    def __init__(self,
                 reg_max: int = 16,
                 topk: int = 4,
                 hidden_channels: int = 64,
                 add_mean: bool = True) -> None:
        super().__init__()
        if hidden_channels < 1:
            raise ValueError('DistributionGuidedQualityPredictor: '
                             f'hidden_channels={hidden_channels} must be >= 1')
        if not 1 <= topk <= reg_max + 1:
            raise ValueError('DistributionGuidedQualityPredictor: '
                             f'topk={topk} must be in [1, {reg_max + 1}]')
        self.reg_max = reg_max
        self.topk = topk
        self.add_mean = add_mean
        in_channels = 4 * (topk + int(add_mean))
        self.fc1 = nn.Conv2d(in_channels, hidden_channels, 1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden_channels, 1, 1)

    def forward(self, bbox_pred: Tensor) -> Tensor:
        """Quality ``I`` in (0, 1), shape ``(N, 1, H, W)``."""
        stats = distribution_statistics(bbox_pred, self.reg_max, self.topk,
                                        self.add_mean)
        return self.fc2(self.relu(self.fc1(stats))).sigmoid()


@MODELS.register_module()
class GFLV2Head(GFLHead):
    """GFLV2 head: GFL head with a Distribution-Guided Quality Predictor.

    The joint score returned by :meth:`forward` is
    ``sigmoid(cls_logits) * DGQP(bbox_pred)`` (GFLV2 Eq. 4), already a
    probability in [0, 1]. Consequently

    * training uses Quality Focal Loss on probabilities
      (``QualityFocalLoss(use_sigmoid=True, activated=True)``; a QFL without
      ``activated=True`` is rejected because it would apply a second
      sigmoid), and GIoU/DFL weights are the detached joint score;
    * inference ranks boxes by the joint score directly (no sigmoid).

    DGQP is applied in training and in inference alike, and its input is not
    detached: the quality loss also shapes the box distributions, as in
    GFLV2's end-to-end training (GFLV2 Section 3.3). Assignment, DFL, GIoU
    and targets are GFL's (ATSS, ``reg_max=16``). Ignore regions are handled
    by the assigner: with ``ATSSAssigner(ignore_iof_thr=0.5)`` anchors whose
    intersection-over-anchor-area with an ignored box exceeds 0.5 are neither
    positives nor negatives (label weight 0).

    Args:
        num_classes (int): Number of foreground classes.
        in_channels (int): Channels of the input feature maps.
        reg_topk (int): Top-k of DGQP (GFLV2 Table 1). Defaults to 4.
        reg_channels (int): Hidden channels ``p`` of DGQP (GFLV2 Table 2).
            Defaults to 64.
        add_mean (bool): Use the mean of the top-k as an extra statistic.
            Defaults to True.
        loss_cls (dict): QFL config; must have ``activated=True``.
        init_cfg (dict): GFL's initialisation (Normal std 0.01, cls bias
            prior 0.01); DGQP's convs are Conv2d so they get Normal std 0.01,
            i.e. an initial quality of about 0.5 everywhere.
        **kwargs: Passed to :class:`mmdet.models.dense_heads.GFLHead`
            (``reg_max``, ``loss_dfl``, ``loss_bbox``, ``anchor_generator``,
            ``train_cfg``, ``test_cfg``, ...).

    Example:
        >>> head = GFLV2Head(num_classes=1, in_channels=32, feat_channels=32,
        ...                  stacked_convs=1,
        ...                  norm_cfg=dict(type='GN', num_groups=8),
        ...                  anchor_generator=dict(
        ...                      type='AnchorGenerator', ratios=[1.0],
        ...                      octave_base_scale=8, scales_per_octave=1,
        ...                      strides=[8, 16]))
        >>> feats = [torch.rand(1, 32, 64, 80), torch.rand(1, 32, 32, 40)]
        >>> scores, boxes = head(feats)
        >>> scores[0].shape, boxes[0].shape
        (torch.Size([1, 1, 64, 80]), torch.Size([1, 68, 64, 80]))
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 reg_topk: int = 4,
                 reg_channels: int = 64,
                 add_mean: bool = True,
                 loss_cls: ConfigType = dict(
                     type='QualityFocalLoss',
                     use_sigmoid=True,
                     activated=True,
                     beta=2.0,
                     loss_weight=1.0),
                 init_cfg: MultiConfig = dict(
                     type='Normal',
                     layer='Conv2d',
                     std=0.01,
                     override=dict(
                         type='Normal',
                         name='gfl_cls',
                         std=0.01,
                         bias_prob=0.01)),
                 **kwargs) -> None:
        if not loss_cls.get('activated', False):
            raise ValueError(
                'GFLV2Head: loss_cls must take probabilities '
                "(QualityFocalLoss with activated=True): the joint score "
                'cls_sigmoid * quality is already in [0, 1], got loss_cls='
                f'{dict(loss_cls)}')
        # _init_layers (called by the parent constructor) needs these.
        self.reg_topk = reg_topk
        self.reg_channels = reg_channels
        self.add_mean = add_mean
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            loss_cls=loss_cls,
            init_cfg=init_cfg,
            **kwargs)
        if not self.use_sigmoid_cls:
            raise ValueError('GFLV2Head: the joint score uses a per-class '
                             'sigmoid; loss_cls.use_sigmoid must be True')

    def _init_layers(self) -> None:
        """GFL's towers and predictors plus the DGQP branch."""
        super()._init_layers()
        self.dgqp = DistributionGuidedQualityPredictor(
            reg_max=self.reg_max,
            topk=self.reg_topk,
            hidden_channels=self.reg_channels,
            add_mean=self.add_mean)

    def forward_single(self, x: Tensor, scale: Scale) -> Sequence[Tensor]:
        """One FPN level.

        Returns:
            tuple[Tensor, Tensor]: joint score ``C * I`` in [0, 1], shape
            ``(N, num_classes, H, W)``, and box distribution logits, shape
            ``(N, 4 * (reg_max + 1), H, W)``.
        """
        cls_feat = x
        reg_feat = x
        for cls_conv in self.cls_convs:
            cls_feat = cls_conv(cls_feat)
        for reg_conv in self.reg_convs:
            reg_feat = reg_conv(reg_feat)
        bbox_pred = scale(self.gfl_reg(reg_feat)).float()
        quality = self.dgqp(bbox_pred)
        joint_score = self.gfl_cls(cls_feat).float().sigmoid() * quality
        return joint_score, bbox_pred

    def loss_by_feat_single(self, anchors: Tensor, cls_score: Tensor,
                            bbox_pred: Tensor, labels: Tensor,
                            label_weights: Tensor, bbox_targets: Tensor,
                            stride: Tuple[int], avg_factor: int) -> tuple:
        """Losses of one FPN level; ``cls_score`` is the joint probability.

        Same terms as GFL (QFL, GIoU, DFL; GFL Eqs. 6, 7) except that the
        positives' GIoU/DFL weight is the detached joint probability itself
        rather than the sigmoid of a logit.
        """
        if stride[0] != stride[1]:
            raise ValueError(f'GFLV2Head: non-square stride {stride}')
        anchors = anchors.reshape(-1, 4)
        cls_score = cls_score.permute(0, 2, 3,
                                      1).reshape(-1, self.cls_out_channels)
        bbox_pred = bbox_pred.permute(0, 2, 3,
                                      1).reshape(-1, 4 * (self.reg_max + 1))
        bbox_targets = bbox_targets.reshape(-1, 4)
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)

        # Foreground labels are [0, num_classes - 1]; num_classes is
        # background.
        pos_inds = ((labels >= 0) & (labels < self.num_classes)).nonzero(
            as_tuple=False).squeeze(1)
        iou_targets = label_weights.new_zeros(labels.shape)

        if len(pos_inds) > 0:
            pos_anchor_centers = self.anchor_center(
                anchors[pos_inds]) / stride[0]
            pos_bbox_pred = bbox_pred[pos_inds]
            pos_targets = bbox_targets[pos_inds] / stride[0]
            weight_targets = cls_score.detach().max(dim=1)[0][pos_inds]
            pos_decoded = self.bbox_coder.decode(pos_anchor_centers,
                                                 self.integral(pos_bbox_pred))
            iou_targets[pos_inds] = bbox_overlaps(
                pos_decoded.detach(), pos_targets, is_aligned=True)
            target_corners = self.bbox_coder.encode(
                pos_anchor_centers, pos_targets, self.reg_max).reshape(-1)
            loss_bbox = self.loss_bbox(
                pos_decoded,
                pos_targets,
                weight=weight_targets,
                avg_factor=1.0)
            loss_dfl = self.loss_dfl(
                pos_bbox_pred.reshape(-1, self.reg_max + 1),
                target_corners,
                weight=weight_targets[:, None].expand(-1, 4).reshape(-1),
                avg_factor=4.0)
        else:
            loss_bbox = bbox_pred.sum() * 0
            loss_dfl = bbox_pred.sum() * 0
            weight_targets = bbox_pred.new_tensor(0)

        # QFL on probabilities goes through F.binary_cross_entropy, which
        # CUDA autocast refuses (the log of fp16 probabilities is unsafe):
        # it runs in fp32 outside autocast (`tools/train.py --amp`).
        with torch.autocast(cls_score.device.type, enabled=False):
            loss_cls = self.loss_cls(
                cls_score.float(), (labels, iou_targets.float()),
                weight=label_weights.float(),
                avg_factor=avg_factor)
        return loss_cls, loss_bbox, loss_dfl, weight_targets.sum()

    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Tensor],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg: Optional[ConfigDict],
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """Boxes of one image; scores are the joint probabilities as is.

        GFLHead's version applies a sigmoid to ``cls_score``; here the score
        is already ``C * I`` (GFLV2 Eq. 4), so it is used unchanged.
        """
        cfg = self.test_cfg if cfg is None else cfg
        img_shape = img_meta['img_shape']
        nms_pre = cfg.get('nms_pre', -1)

        mlvl_bboxes, mlvl_scores, mlvl_labels = [], [], []
        for cls_score, bbox_pred, stride, priors in zip(
                cls_score_list, bbox_pred_list, self.prior_generator.strides,
                mlvl_priors):
            if cls_score.shape[-2:] != bbox_pred.shape[-2:]:
                raise ValueError(
                    'GFLV2Head: score and box maps differ in size: '
                    f'{tuple(cls_score.shape)} vs {tuple(bbox_pred.shape)}')
            distances = self.integral(bbox_pred.permute(1, 2, 0)) * stride[0]
            scores = cls_score.permute(1, 2, 0).reshape(
                -1, self.cls_out_channels)
            scores, labels, _, kept = filter_scores_and_topk(
                scores, cfg.score_thr, nms_pre,
                dict(bbox_pred=distances, priors=priors))
            mlvl_bboxes.append(
                self.bbox_coder.decode(
                    self.anchor_center(kept['priors']),
                    kept['bbox_pred'],
                    max_shape=img_shape))
            mlvl_scores.append(scores)
            mlvl_labels.append(labels)

        results = InstanceData()
        results.bboxes = torch.cat(mlvl_bboxes)
        results.scores = torch.cat(mlvl_scores)
        results.labels = torch.cat(mlvl_labels)
        return self._bbox_post_process(
            results=results,
            cfg=cfg,
            rescale=rescale,
            with_nms=with_nms,
            img_meta=img_meta)
