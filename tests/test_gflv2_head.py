"""GFLV2Head (GFLV2 Sections 3.2-3.3) on 640x512 KAIST-sized feature maps."""
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
