# Toy-scale GFLV2 for CPU runs: the same detector as
# gflv2_r50_fpn_24e_kaist_base.py (GFLV2Head, ATSS, QFL/DFL/GIoU, ignore
# regions) with a small input (320x256), a ResNet-18 trained from scratch, a
# thin FPN/head and a short overfitting-friendly schedule (no augmentation,
# higher lr). Used by the tests on ../shared/data/kaist_sample and by the
# README quick start on tools/make_toy_kaist.py output. Not for results.
# The miss-rate metric keeps KAIST's 55-px "reasonable" height, which is
# measured on the original frames (kaist_sample: 640x512). Toy data made at
# another --size needs its README's scaled value, e.g.
# --cfg-options "test_evaluator.1.min_height=27.5" for 320x256 frames.
_base_ = './gflv2_r50_fpn_24e_kaist_base.py'

img_scale = (320, 256)
max_epochs = 25
train_batch_size = 4

model = dict(
    backbone=dict(
        depth=18,
        base_channels=16,  # a quarter of ResNet-18's widths: 16x cheaper
        frozen_stages=-1,
        norm_eval=False,
        # from scratch: MMDetection's default ResNet initialisation only
        init_cfg=[
            dict(type='Kaiming', layer='Conv2d'),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
        ]),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    bbox_head=dict(
        in_channels=32,
        feat_channels=32,
        stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
    test_cfg=dict(nms_pre=300, max_per_img=50))

train_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'instances')),
]
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=0,
    persistent_workers=False,
    batch_sampler=None,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[int(max_epochs * 0.75)],
        gamma=0.1),
]
optim_wrapper = dict(
    optimizer=dict(lr=0.02), clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(base_batch_size=train_batch_size)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
log_processor = dict(window_size=5)
