"""GFLV2Head (Li et al., "Generalized Focal Loss V2", CVPR 2021).

The first tests run the head on 640x512 KAIST-sized feature maps (shapes,
inference, ignore regions, AMP). The second part pins its numbers on inputs
small enough to check by hand: the DGQP statistics of four different side
distributions, the joint score and its gradient into the regression branch,
the QFL targets, the GIoU/DFL weights, the loss normaliser and a complete
loss, each against the papers' formulas written out in this file.
"""
import math

import pytest
import torch
import torch.nn.functional as F

mmdet = pytest.importorskip('mmdet')
from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

from msfam_mm.detection import (  # noqa: E402
    DistributionGuidedQualityPredictor, GFLV2Head, distribution_statistics)

STRIDES = (8, 16, 32, 64, 128)
IMG_W, IMG_H = 640, 512  # KAIST frame size
REG_MAX = 16


def make_head(**overrides) -> GFLV2Head:
    cfg = dict(
        type='GFLV2Head',
        num_classes=1,
        in_channels=32,
        feat_channels=32,
        stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        reg_max=REG_MAX,
        anchor_generator=dict(
            type='AnchorGenerator',
            ratios=[1.0],
            octave_base_scale=8,
            scales_per_octave=1,
            strides=list(STRIDES)),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        train_cfg=ConfigDict(
            assigner=dict(type='ATSSAssigner', topk=9, ignore_iof_thr=0.5),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        test_cfg=ConfigDict(
            nms_pre=1000,
            min_bbox_size=0,
            score_thr=0.01,
            nms=dict(type='nms', iou_threshold=0.6),
            max_per_img=100))
    cfg.update(overrides)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def fpn_feats(batch=1, channels=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch, channels, IMG_H // s, IMG_W // s, generator=gen)
        for s in STRIDES
    ]


def img_metas(batch=1):
    return [
        dict(img_shape=(IMG_H, IMG_W), pad_shape=(IMG_H, IMG_W),
             scale_factor=(1.0, 1.0)) for _ in range(batch)
    ]


def pedestrians():
    gt = InstanceData()
    # KAIST-like upright pedestrians (w:h about 0.41)
    gt.bboxes = torch.tensor([[100., 200., 141., 300.],
                              [400., 150., 460., 296.],
                              [520., 260., 545., 321.]])
    gt.labels = torch.zeros(3, dtype=torch.long)
    return gt


def test_registered_and_output_channels_640x512():
    head = make_head()
    assert isinstance(head, GFLV2Head)
    with torch.no_grad():
        scores, boxes = head(fpn_feats())
    assert len(scores) == len(boxes) == len(STRIDES)
    for s, score, box in zip(STRIDES, scores, boxes):
        assert score.shape == (1, 1, IMG_H // s, IMG_W // s)
        assert box.shape == (1, 4 * (REG_MAX + 1), IMG_H // s, IMG_W // s)
        # joint score C * I is a probability
        assert score.min() >= 0 and score.max() <= 1


def test_joint_score_is_cls_sigmoid_times_quality():
    head = make_head()
    feat = fpn_feats()[2]
    with torch.no_grad():
        score, box = head.forward_single(feat, head.scales[2])
        cls_feat = feat
        for conv in head.cls_convs:
            cls_feat = conv(cls_feat)
        expected = head.gfl_cls(cls_feat).sigmoid() * head.dgqp(box)
    torch.testing.assert_close(score, expected)


def test_quality_branch_changes_scores():
    head = make_head()
    feats = fpn_feats()
    # fixed, moderate weights: unit-variance ones saturate the quality
    # sigmoid at 1 for some draws, and the ranking then cannot change
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in head.dgqp.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen))
        scores_with, _ = head(feats)
        head.dgqp.fc2.weight.zero_()
        head.dgqp.fc2.bias.zero_()
        scores_zeroed, _ = head(feats)
    # zeroed last conv -> quality sigmoid(0) = 0.5 everywhere
    for a, b in zip(scores_with, scores_zeroed):
        assert not torch.allclose(a, b)
    # and the ranking of predictions differs, not only their scale
    flat_with = torch.cat([s.flatten() for s in scores_with])
    flat_zero = torch.cat([s.flatten() for s in scores_zeroed])
    quality = 0.5 * flat_with / flat_zero
    assert 0.01 < quality.min() and quality.max() < 0.99
    assert not torch.equal(flat_with.argsort()[-50:], flat_zero.argsort()[-50:])


def test_loss_finite_and_trains_quality_branch():
    head = make_head()
    head.train()
    scores, boxes = head(fpn_feats())
    losses = head.loss_by_feat(scores, boxes, [pedestrians()], img_metas())
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_dfl'}
    total = sum(sum(v) for v in losses.values())
    assert torch.isfinite(total) and total > 0
    assert sum(losses['loss_bbox']) > 0 and sum(losses['loss_dfl']) > 0
    total.backward()
    for name, p in head.dgqp.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert head.gfl_cls.weight.grad.abs().sum() > 0


def test_quality_focal_loss_runs_in_fp32_outside_autocast(monkeypatch):
    """`--amp`: CUDA autocast refuses F.binary_cross_entropy (QFL on
    probabilities), so the head computes it in fp32 with autocast off; the
    CPU's bf16 autocast shows where it is called."""
    seen = []
    bce = F.binary_cross_entropy

    def recording_bce(pred, target, *args, **kwargs):
        seen.append((torch.is_autocast_enabled('cpu'), pred.dtype))
        return bce(pred, target, *args, **kwargs)

    monkeypatch.setattr(F, 'binary_cross_entropy', recording_bce)
    head = make_head()
    head.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        scores, boxes = head(fpn_feats())
        losses = head.loss_by_feat(scores, boxes, [pedestrians()],
                                   img_metas())
    assert seen and all(s == (False, torch.float32) for s in seen), seen
    assert all(v.dtype == torch.float32 for v in losses['loss_cls'])
    sum(sum(v) for v in losses.values()).backward()
    assert head.dgqp.fc2.weight.grad.abs().sum() > 0


def test_loss_without_gt_only_classification():
    head = make_head()
    scores, boxes = head(fpn_feats())
    empty = InstanceData(
        bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    losses = head.loss_by_feat(scores, boxes, [empty], img_metas())
    assert sum(losses['loss_cls']) > 0
    assert sum(losses['loss_bbox']) == 0 and sum(losses['loss_dfl']) == 0


def test_qfl_uses_probability_form():
    """Loss on the joint probability equals QFL computed by hand."""
    head = make_head()
    pred = torch.tensor([[0.3], [0.8], [0.1]])
    labels = torch.tensor([0, 1, 0])  # 1 == background for 1 class
    iou = torch.tensor([0.6, 0.0, 0.9])
    loss = head.loss_cls(pred, (labels, iou), reduction_override='none')
    bce = torch.nn.functional.binary_cross_entropy
    expected = torch.stack([
        bce(pred[0, 0], iou[0]) * (iou[0] - pred[0, 0]).abs()**2,
        bce(pred[1, 0], torch.tensor(0.)) * pred[1, 0]**2,
        bce(pred[2, 0], iou[2]) * (iou[2] - pred[2, 0]).abs()**2,
    ])
    torch.testing.assert_close(loss.flatten(), expected)


def test_predict_uses_joint_score_without_second_sigmoid():
    head = make_head()
    head.eval()
    with torch.no_grad():
        scores, boxes = head(fpn_feats())
        results = head.predict_by_feat(
            scores, boxes, batch_img_metas=img_metas(),
            cfg=ConfigDict(nms_pre=-1, score_thr=0.0, min_bbox_size=0),
            rescale=False, with_nms=False)[0]
    # at init the joint score is about 0.01 * 0.5; a second sigmoid would
    # lift every score to about 0.5
    top = max(float(s.max()) for s in scores)
    assert top < 0.1
    assert results.scores.max().item() == pytest.approx(top, rel=1e-6)
    assert results.bboxes.shape[1] == 4
    assert (results.bboxes[:, 0::2] >= 0).all()
    assert (results.bboxes[:, 0::2] <= IMG_W).all()
    assert (results.bboxes[:, 1::2] <= IMG_H).all()


def test_predict_with_nms_via_data_samples():
    from mmdet.structures import DetDataSample
    head = make_head()
    head.eval()
    sample = DetDataSample(metainfo=dict(
        img_shape=(IMG_H, IMG_W), ori_shape=(IMG_H, IMG_W),
        scale_factor=(1.0, 1.0)))
    with torch.no_grad():
        out = head.predict(tuple(fpn_feats()), [sample], rescale=True)[0]
    assert len(out.scores) <= 100
    assert ((out.scores >= 0.01) & (out.scores <= 1)).all()


def test_ignore_regions_get_no_loss():
    """Anchors mostly inside an ignore box are neither positive nor negative
    (ATSSAssigner(ignore_iof_thr=0.5); docs/detection.md)."""
    head = make_head()
    feats = fpn_feats()
    sizes = [f.shape[-2:] for f in feats]
    ignore = InstanceData(bboxes=torch.tensor([[300., 100., 380., 300.]]))

    def targets(ignored):
        anchors, valid = head.get_anchors(sizes, img_metas(), device='cpu')
        return head.get_targets(
            anchors, valid, [pedestrians()], img_metas(),
            batch_gt_instances_ignore=[ignored])

    with_ignore = targets(ignore)
    without = targets(None)
    anchors = torch.cat(with_ignore[0], dim=1)[0]
    weights = torch.cat(with_ignore[2], dim=1)[0]
    weights_plain = torch.cat(without[2], dim=1)[0]
    from mmdet.structures.bbox import bbox_overlaps
    iof = bbox_overlaps(anchors, ignore.bboxes, mode='iof')[:, 0]
    inside = iof > 0.5
    assert inside.sum() > 10
    assert (weights[inside] == 0).all()
    assert (weights_plain[inside] == 1).all()
    outside = iof == 0
    torch.testing.assert_close(weights[outside], weights_plain[outside])


def test_rejects_logit_qfl():
    with pytest.raises(ValueError, match='activated=True'):
        make_head(loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True,
                                beta=2.0, loss_weight=1.0))


def test_distribution_statistics_values():
    n_bins = REG_MAX + 1
    sharp = torch.full((1, 4, n_bins, 2, 3), -1e4)
    sharp[:, :, 5] = 0  # all mass on one bin
    flat = torch.zeros(1, 4 * n_bins, 2, 3)
    s = distribution_statistics(sharp.reshape(1, -1, 2, 3)).reshape(
        1, 4, 5, 2, 3)
    torch.testing.assert_close(s[:, :, 0], torch.ones(1, 4, 2, 3))
    torch.testing.assert_close(s[:, :, 1:4], torch.zeros(1, 4, 3, 2, 3))
    torch.testing.assert_close(s[:, :, 4], torch.full((1, 4, 2, 3), 0.25))
    f = distribution_statistics(flat)
    torch.testing.assert_close(f, torch.full((1, 20, 2, 3), 1 / n_bins))
    assert distribution_statistics(flat, add_mean=False).shape[1] == 16


def test_distribution_statistics_errors():
    with pytest.raises(ValueError, match='68'):
        distribution_statistics(torch.zeros(1, 64, 2, 2))
    with pytest.raises(ValueError, match='4D'):
        distribution_statistics(torch.zeros(68, 2, 2))
    with pytest.raises(ValueError, match='topk'):
        DistributionGuidedQualityPredictor(topk=18)


def test_dgqp_depends_on_shape_not_location():
    """DGQP is a function of the distribution shape only: same shape, same
    quality, whatever the location of the peak (GFLV2 Section 3.3)."""
    dgqp = DistributionGuidedQualityPredictor()
    a = torch.full((1, 4, 17, 1, 1), -10.)
    b = a.clone()
    a[:, :, 3] = 5
    b[:, :, 12] = 5
    qa = dgqp(a.reshape(1, 68, 1, 1))
    qb = dgqp(b.reshape(1, 68, 1, 1))
    torch.testing.assert_close(qa, qb)


# ---------------------------------------------------------------------------
# Values checked by hand. Every expectation below comes from the papers'
# formulas, written out here without the head's code: DGQP (GFLV2 Sec. 3.3,
# Eqs. 2-4), Quality and Distribution Focal Loss (GFL, Li et al., NeurIPS
# 2020, Section 3) and the GIoU loss 1 - GIoU (Rezatofighi et al., CVPR
# 2019).
# ---------------------------------------------------------------------------

# The GFL/GFLV2 configs' loss weights (configs/gflv2/*_base.py).
GIOU_WEIGHT = 2.0
DFL_WEIGHT = 0.25
QFL_BETA = 2.0

# Four DIFFERENT side distributions over the 17 bins of reg_max=16, sides in
# GFL's order (left, top, right, bottom). The four largest probabilities sit
# at scrambled bins; the other 13 bins share the rest equally, each below
# the 4th largest.
SIDES = (
    {3: 0.6, 9: 0.2, 0: 0.1, 16: 0.05},   # left:   top-4 mean 0.2375
    {16: 0.3, 1: 0.25, 8: 0.2, 4: 0.15},  # top:    top-4 mean 0.225
    {0: 0.9, 2: 0.04, 5: 0.03, 11: 0.02},  # right:  top-4 mean 0.2475
    {7: 0.25, 15: 0.2, 6: 0.15, 12: 0.1},  # bottom: top-4 mean 0.175
)
SIDE_STATS = (
    [0.6, 0.2, 0.1, 0.05, 0.2375],
    [0.3, 0.25, 0.2, 0.15, 0.225],
    [0.9, 0.04, 0.03, 0.02, 0.2475],
    [0.25, 0.2, 0.15, 0.1, 0.175],
)


def side_probabilities(top: dict) -> torch.Tensor:
    """The 17 probabilities of one side: ``top`` ({bin: probability}) and
    the rest shared equally by the other bins."""
    rest = (1 - sum(top.values())) / (REG_MAX + 1 - len(top))
    p = torch.full((REG_MAX + 1, ), rest, dtype=torch.float64)
    for b, v in top.items():
        p[b] = v
    assert p.max() == max(top.values()) and abs(float(p.sum()) - 1) < 1e-12
    return p


def two_bin_logits(distances) -> torch.Tensor:
    """Box logits, shape (68,), whose four side distributions put
    ``1 - d`` on bin 0 and ``d`` on bin 1 (exp(-1e4) = 0 elsewhere), so the
    integral (expected distance) of side ``s`` is exactly ``distances[s]``."""
    logits = torch.full((4, REG_MAX + 1), -1e4)
    for side, d in enumerate(distances):
        logits[side, 0] = math.log(1 - d)
        logits[side, 1] = math.log(d)
    return logits.reshape(-1)


def reference_quality(box_logits, fc1_w, fc1_b, fc2_w, fc2_b, topk=4):
    """DGQP written out (GFLV2 Eqs. 2-3): per location and side, softmax over
    the bins (GFL's layout: the 17 bins of one side contiguous), sorted
    descending, top-k plus their mean, sides concatenated; FC-ReLU-FC-sigmoid.
    """
    n, _, h, w = box_logits.shape
    prob = box_logits.permute(0, 2, 3, 1).reshape(n, h, w, 4,
                                                  REG_MAX + 1).softmax(-1)
    top = prob.sort(dim=-1, descending=True).values[..., :topk]
    feat = torch.cat([top, top.mean(-1, keepdim=True)], -1).reshape(n, h, w,
                                                                     -1)
    hidden = torch.relu(feat @ fc1_w.flatten(1).T + fc1_b)
    quality = torch.sigmoid(hidden @ fc2_w.flatten(1).T + fc2_b)
    return quality.permute(0, 3, 1, 2)


def box_iou_giou(a, b):
    """IoU and GIoU of two (x1, y1, x2, y2) boxes, plain Python."""
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = area(a) + area(b) - inter
    enclose = ((max(a[2], b[2]) - min(a[0], b[0])) *
               (max(a[3], b[3]) - min(a[1], b[1])))
    iou = inter / union
    return iou, iou - (enclose - union) / enclose


def qfl(sigma, y, beta=QFL_BETA):
    """QFL (GFL Sec. 3): -|y - s|^b ((1 - y) log(1 - s) + y log s)."""
    ce = (1 - y) * math.log(1 - sigma)
    if y > 0:
        ce += y * math.log(sigma)
    return -abs(y - sigma)**beta * ce


def dfl(probs, y):
    """DFL (GFL Sec. 3): -((y_{i+1} - y) log S_i + (y - y_i) log S_{i+1}),
    y_i = floor(y), y_{i+1} = y_i + 1."""
    i = math.floor(y)
    return -((i + 1 - y) * math.log(probs[i]) +
             (y - i) * math.log(probs[i + 1]))


# A one-level toy problem: a 24 x 24 image, stride 8, a 3 x 3 grid of 8 x 8
# anchors (GFL's AnchorGenerator with center_offset 0 puts prior k at
# (8 * (k % 3), 8 * (k // 3))), one class.
TOY_STRIDE = 8
TOY_SIZE = 24
# GT 1 contains only prior 4's centre (8, 8), which ATSS requires of a
# positive; prior 4's IoU with it, 56/108, is the largest of the nine
# candidates and above their mean + std (0.26), so prior 4 is its only
# positive. GT 2 has prior 8's centre (16, 16), IoU 49/87, all others 0.
GT1 = (5., 2., 15., 12.)
GT2 = (13., 13., 21., 22.)
# Predicted side distances (stride units) of every prior: l, t, r, b.
PRED_DIST = (0.5, 0.25, 0.75, 0.5)
# Joint scores of the nine priors.
JOINT = (0.10, 0.20, 0.05, 0.30, 0.40, 0.15, 0.10, 0.05, 0.25)


def toy_head(**overrides) -> GFLV2Head:
    cfg = dict(
        num_classes=1,
        in_channels=1,
        feat_channels=1,
        stacked_convs=0,
        reg_max=REG_MAX,
        anchor_generator=dict(
            type='AnchorGenerator',
            ratios=[1.0],
            octave_base_scale=1,
            scales_per_octave=1,
            strides=[TOY_STRIDE]),
        loss_bbox=dict(type='GIoULoss', loss_weight=GIOU_WEIGHT),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=DFL_WEIGHT),
        train_cfg=ConfigDict(
            assigner=dict(type='ATSSAssigner', topk=9),
            allowed_border=-1,
            pos_weight=-1,
            debug=False))
    cfg.update(overrides)
    return GFLV2Head(**cfg)


def toy_meta():
    return dict(img_shape=(TOY_SIZE, TOY_SIZE), pad_shape=(TOY_SIZE, TOY_SIZE),
                scale_factor=(1.0, 1.0))


def toy_gts(*boxes) -> InstanceData:
    return InstanceData(
        bboxes=torch.tensor(boxes),
        labels=torch.zeros(len(boxes), dtype=torch.long))


def toy_maps(joint=JOINT):
    """Joint-score and box-logit maps of the 3 x 3 grid, as loss_by_feat
    takes them; the joint scores are a leaf that requires grad."""
    scores = torch.tensor(joint).reshape(1, 1, 3, 3).requires_grad_()
    boxes = two_bin_logits(PRED_DIST)[None, :, None, None].expand(
        1, -1, 3, 3).clone().requires_grad_()
    return scores, boxes


def prior_centre(k):
    """Centre of prior k in stride units."""
    return (k % 3, k // 3)


def expected_positive(k, gt):
    """Decoded predicted box, GT box (stride units), IoU, GIoU and mean DFL
    over the four sides of positive prior k, from the formulas."""
    cx, cy = prior_centre(k)
    l, t, r, b = PRED_DIST
    pred = (cx - l, cy - t, cx + r, cy + b)
    target = tuple(v / TOY_STRIDE for v in gt)
    target_dist = (cx - target[0], cy - target[1], target[2] - cx,
                   target[3] - cy)
    iou, giou = box_iou_giou(pred, target)
    mean_dfl = sum(dfl((1 - d, d), y)
                   for d, y in zip(PRED_DIST, target_dist)) / 4
    return pred, target, target_dist, iou, giou, mean_dfl


class Recorder(torch.nn.Module):
    """Calls a loss module and keeps its arguments."""

    def __init__(self, loss):
        super().__init__()
        self.loss = loss
        self.calls = []

    def forward(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.loss(*args, **kwargs)


def test_toy_problem_by_hand():
    """The numbers the tests below rely on, as fractions: prior 4's box
    (0.5, 0.75, 1.75, 1.5) against GT 1 / 8 = (0.625, 0.25, 1.875, 1.5):
    intersection 1.125 * 0.75 = 27/32, union (30 + 50 - 27)/32 = 53/32,
    enclosing box 1.375 * 1.25 = 55/32."""
    pred, target, target_dist, iou, giou, _ = expected_positive(4, GT1)
    assert pred == (0.5, 0.75, 1.75, 1.5)
    assert target == (0.625, 0.25, 1.875, 1.5)
    assert target_dist == (0.375, 0.75, 0.875, 0.5)
    assert iou == pytest.approx(27 / 53)
    assert giou == pytest.approx(27 / 53 - 2 / 55)
    # the assignment the loss tests assume: ATSS makes prior 4 GT 1's only
    # positive and prior 8 GT 2's (label 0 = pedestrian, 1 = background)
    head = toy_head()
    anchors, valid = head.get_anchors([(3, 3)], [toy_meta()], device='cpu')
    labels = head.get_targets(anchors, valid, [toy_gts(GT1, GT2)],
                              [toy_meta()])[1][0][0]
    assert labels.tolist() == [1, 1, 1, 1, 0, 1, 1, 1, 0]


def test_distribution_statistics_four_different_sides():
    """Top-4 of each side in descending order, then their mean, sides in the
    order l, t, r, b (GFLV2 Eq. 2); a second location holds the same sides
    in reverse order."""
    loc_a = torch.stack([side_probabilities(s) for s in SIDES])
    loc_b = loc_a.flip(0)
    logits = torch.stack([loc_a, loc_b], -1).reshape(1, 68, 1, 2).log()
    stats = distribution_statistics(logits.float())
    expected_a = torch.tensor(SIDE_STATS).flatten()
    expected_b = torch.tensor(SIDE_STATS[::-1]).flatten()
    torch.testing.assert_close(stats[0, :, 0, 0], expected_a)
    torch.testing.assert_close(stats[0, :, 0, 1], expected_b)
    top1 = distribution_statistics(logits.float(), topk=1, add_mean=False)
    torch.testing.assert_close(top1[0, :, 0, 0],
                               torch.tensor([0.6, 0.3, 0.9, 0.25]))


def set_toy_weights(head):
    """cls logits = the input map (centre tap 1), box logits = the toy
    distributions everywhere (zero weights, bias), DGQP hidden unit =
    relu(sum of the four top-1 probabilities - 2), I = sigmoid(2 h - 1)."""
    with torch.no_grad():
        head.gfl_cls.weight.zero_()
        head.gfl_cls.weight[0, 0, 1, 1] = 1
        head.gfl_cls.bias.zero_()
        head.gfl_reg.weight.zero_()
        head.gfl_reg.bias.copy_(two_bin_logits(PRED_DIST))
        fc1, fc2 = head.dgqp.fc1, head.dgqp.fc2
        fc1.weight.zero_()
        fc1.weight[0, [0, 5, 10, 15]] = 1  # top-1 of l, t, r, b
        fc1.bias.fill_(-2)
        fc2.weight.fill_(2)
        fc2.bias.fill_(-1)


def test_joint_score_by_hand():
    """J = sigmoid(cls) * I (GFLV2 Eq. 4) with a one-unit DGQP that sums the
    four top-1 probabilities: for the toy distributions (0.5/0.5,
    0.75/0.25, 0.25/0.75, 0.5/0.5) that is 0.5 + 0.75 + 0.75 + 0.5 = 2.5,
    hidden relu(2.5 - 2) = 0.5, I = sigmoid(2 * 0.5 - 1) = 0.5."""
    head = toy_head(reg_channels=1)
    set_toy_weights(head)
    cls_logit = torch.tensor([[0.0, math.log(3)], [-math.log(4), 2.0]])
    with torch.no_grad():
        joint, _ = head.forward_single(cls_logit[None, None], head.scales[0])
    expected = torch.tensor([[0.5, 0.75], [0.2, 1 / (1 + math.exp(-2))]]) / 2
    torch.testing.assert_close(joint[0, 0], expected)


def test_joint_score_and_gradient_reach_regression_branch_through_dgqp():
    """Against DGQP written out: the joint score, and its gradient with
    respect to the box logits (J depends on them only through DGQP) and to
    every parameter of the regression branch."""
    gen = torch.Generator().manual_seed(1)
    head = toy_head(in_channels=8, feat_channels=8, stacked_convs=1,
                    norm_cfg=dict(type='GN', num_groups=4))
    with torch.no_grad():
        for p in head.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen))
        head.scales[0].scale.fill_(0.7)
    x = torch.randn(2, 8, 4, 5, generator=gen)
    probe = torch.rand(2, 1, 4, 5, generator=gen)
    reg_params = [head.gfl_reg.weight, head.gfl_reg.bias, head.scales[0].scale,
                  *head.reg_convs.parameters()]
    dgqp = head.dgqp

    joint, box = head.forward_single(x, head.scales[0])
    (d_box, ) = torch.autograd.grad((joint * probe).sum(), box,
                                    retain_graph=True, allow_unused=True)
    assert d_box is not None, 'the joint score ignores the box logits'
    d_params = torch.autograd.grad((joint * probe).sum(), reg_params,
                                   allow_unused=True)

    cls = x
    reg = x
    for conv in head.cls_convs:
        cls = conv(cls)
    for conv in head.reg_convs:
        reg = conv(reg)
    cls_prob = F.conv2d(cls, head.gfl_cls.weight, head.gfl_cls.bias,
                        padding=1).sigmoid()
    box_ref = F.conv2d(reg, head.gfl_reg.weight, head.gfl_reg.bias,
                       padding=1) * head.scales[0].scale
    joint_ref = cls_prob * reference_quality(box_ref, dgqp.fc1.weight,
                                             dgqp.fc1.bias, dgqp.fc2.weight,
                                             dgqp.fc2.bias)
    torch.testing.assert_close(box, box_ref)
    torch.testing.assert_close(joint, joint_ref)
    (d_box_ref, ) = torch.autograd.grad((joint_ref * probe).sum(), box_ref,
                                        retain_graph=True)
    d_params_ref = torch.autograd.grad((joint_ref * probe).sum(), reg_params)
    assert d_box_ref.abs().max() > 1e-3
    torch.testing.assert_close(d_box, d_box_ref)
    for g, g_ref in zip(d_params, d_params_ref):
        assert g is not None
        torch.testing.assert_close(g, g_ref)


def test_loss_targets_and_weights_by_hand():
    """What loss_by_feat hands to the three losses for the toy problem with
    GT 1: QFL targets are the IoU 27/53 of prior 4's decoded box with the GT
    (0 elsewhere); GIoU gets the decoded box, the GT in stride units and the
    weight 0.4 = prior 4's joint score (detached, no second sigmoid); DFL
    the side targets l, t, r, b and the same weight per side."""
    head = toy_head()
    head.loss_cls = Recorder(head.loss_cls)
    head.loss_bbox = Recorder(head.loss_bbox)
    head.loss_dfl = Recorder(head.loss_dfl)
    scores, boxes = toy_maps()
    head.loss_by_feat([scores], [boxes], [toy_gts(GT1)], [toy_meta()])
    pred, target, target_dist, iou, _, _ = expected_positive(4, GT1)

    (_, (labels, iou_targets)), kw = head.loss_cls.calls[0]
    assert labels.tolist() == [1, 1, 1, 1, 0, 1, 1, 1, 1]
    expected_targets = torch.zeros(9)
    expected_targets[4] = iou  # 27/53
    torch.testing.assert_close(iou_targets, expected_targets)
    assert kw['avg_factor'] == 1  # one positive

    (pred_box, gt_box), kw = head.loss_bbox.calls[0]
    torch.testing.assert_close(pred_box, torch.tensor([pred]))
    torch.testing.assert_close(gt_box, torch.tensor([target]))
    weight = kw.get('weight')
    assert weight is not None, 'GIoU loss not weighted'
    torch.testing.assert_close(weight, torch.tensor([0.4]))
    assert not weight.requires_grad

    (corners, target_corners), kw = head.loss_dfl.calls[0]
    assert corners.shape == (4, REG_MAX + 1)
    torch.testing.assert_close(target_corners, torch.tensor(target_dist))
    torch.testing.assert_close(kw['weight'], torch.full((4, ), 0.4))
    assert not kw['weight'].requires_grad


@pytest.mark.parametrize('joint_pos', [(0.4, 0.3), (0.9, 0.6)])
def test_loss_normaliser(joint_pos):
    """Two positives (prior 4 for GT 1, prior 8 for GT 2). QFL is divided by
    the number of positives; GIoU and DFL by the sum of the positives'
    weights w (their joint scores), clamped to >= 1 as mmdet 3.3's
    GFLHead.loss_by_feat does (the official GFocalV2 code does not clamp):
    0.4 + 0.3 = 0.7 -> 1, 0.9 + 0.6 = 1.5 -> 1.5."""
    joint = list(JOINT)
    joint[4], joint[8] = joint_pos
    head = toy_head()
    scores, boxes = toy_maps(joint)
    losses = head.loss_by_feat([scores], [boxes], [toy_gts(GT1, GT2)],
                               [toy_meta()])
    pos = {4: GT1, 8: GT2}
    qfl_sum = sum(qfl(s, 0.0) for k, s in enumerate(joint) if k not in pos)
    giou_sum = dfl_sum = 0.0
    for k, gt in pos.items():
        _, _, _, iou, giou, mean_dfl = expected_positive(k, gt)
        qfl_sum += qfl(joint[k], iou)
        giou_sum += joint[k] * (1 - giou)
        dfl_sum += joint[k] * mean_dfl
    normaliser = max(sum(joint_pos), 1.0)
    assert losses['loss_cls'][0].item() == pytest.approx(qfl_sum / 2,
                                                         rel=1e-5)
    assert losses['loss_bbox'][0].item() == pytest.approx(
        GIOU_WEIGHT * giou_sum / normaliser, rel=1e-5)
    assert losses['loss_dfl'][0].item() == pytest.approx(
        DFL_WEIGHT * dfl_sum / normaliser, rel=1e-5)


def test_end_to_end_loss_by_hand():
    """head.loss from a feature map: forward (J = sigmoid(cls) * I with the
    one-unit DGQP of test_joint_score_by_hand, I = 0.5), ATSS, targets and
    the three losses, against the formulas for one GT (GT 1 -> prior 4).

    J = (0.10, 0.20, 0.05, 0.30, 0.40, 0.15, 0.10, 0.05, 0.25); prior 4 has
    IoU y = 27/53, GIoU 27/53 - 2/55, DFL targets (0.375, 0.75, 0.875, 0.5):

    * loss_cls = QFL(0.4, 27/53) + sum of -s^2 log(1 - s) over the eight
      negatives, divided by 1 positive: 0.008591 + 0.065027 = 0.073618;
    * loss_bbox = 2 * 0.4 * (1 - GIoU) / max(0.4, 1) = 0.421544;
    * loss_dfl = 0.25 * 0.4 * mean_side DFL / max(0.4, 1) = 0.073074, with
      DFL l: ln 2, t: -(0.25 ln 0.75 + 0.75 ln 0.25), r: -(0.125 ln 0.25
      + 0.875 ln 0.75), b: ln 2.
    """
    from mmdet.structures import DetDataSample
    head = toy_head(reg_channels=1)
    set_toy_weights(head)
    cls_logits = torch.tensor([math.log(2 * s / (1 - 2 * s)) for s in JOINT])
    feats = (cls_logits.reshape(1, 1, 3, 3), )
    sample = DetDataSample(metainfo=toy_meta())
    sample.gt_instances = toy_gts(GT1)
    losses = head.loss(feats, [sample])

    _, _, _, iou, giou, mean_dfl = expected_positive(4, GT1)
    w = JOINT[4]
    loss_cls = qfl(w, iou) + sum(qfl(s, 0.0) for k, s in enumerate(JOINT)
                                 if k != 4)
    loss_bbox = GIOU_WEIGHT * w * (1 - giou) / max(w, 1.0)
    loss_dfl = DFL_WEIGHT * w * mean_dfl / max(w, 1.0)
    assert loss_cls == pytest.approx(0.073618, abs=1e-6)
    assert loss_bbox == pytest.approx(0.421544, abs=1e-6)
    assert loss_dfl == pytest.approx(0.073074, abs=1e-6)
    assert losses['loss_cls'][0].item() == pytest.approx(loss_cls, rel=1e-5)
    assert losses['loss_bbox'][0].item() == pytest.approx(loss_bbox, rel=1e-5)
    assert losses['loss_dfl'][0].item() == pytest.approx(loss_dfl, rel=1e-5)
