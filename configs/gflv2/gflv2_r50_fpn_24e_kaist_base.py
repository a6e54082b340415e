# GFLV2 (Li et al., CVPR 2021), ResNet-50-FPN, 24 epochs, on KAIST: the
# detector of MSFAM's downstream experiment (paper Section 4.4, Table 7).
#
# One config per image type inherits this file and only changes the images:
# `modality` (the folder under images/setXX/VYYY/) and, for fused frames,
# `img_subdir` (tools/fuse_kaist.py's output root). tools/compare_detection.py
# overrides the same keys for any image type.
#
# Decisions the paper leaves open (see docs/detection.md):
# - schedule: MMDetection's 2x step schedule (lr x0.1 at epochs 16 and 22);
#   batch 8 per GPU with lr 0.005 (GFL's 0.01 for 16 images, linearly
#   scaled); set auto_scale_lr.enable=True to rescale for other batch sizes.
# - input: KAIST's native 640x512, no multi-scale; horizontal flip only.
# - grey lwir/fused frames are read as 3 identical channels
#   (LoadImageFromFile color_type='color') so the ImageNet R50 applies.
# - ignore regions (people/cyclist/person?, non-reasonable boxes): anchors
#   whose intersection-over-anchor-area with one exceeds 0.5 get no loss.
# - ImageNet R50 weights are loaded from the torch hub cache; without them
#   the run stops naming the file, unless tools/train.py --from-scratch
#   (or compare_detection.py --from-scratch) asks to train from scratch.
default_scope = 'mmdet'
# the detection layer of msfam_mm: GFLV2Head, KAISTDataset,
# KAISTMissRateMetric, PretrainedIfAvailable (needs mmdet and compiled mmcv)
custom_imports = dict(
    imports=['msfam_mm.detection'], allow_failed_imports=False)

data_root = 'data/kaist/'
modality = 'visible'
train_image_set = 'imageSets/train-all-02.txt'
test_image_set = 'imageSets/test-all-20.txt'
img_scale = (640, 512)  # (w, h), KAIST's native frame size
max_epochs = 24
train_batch_size = 8
backend_args = None

model = dict(
    type='GFL',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],  # ImageNet statistics (RGB)
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        # MMDetection's from-scratch ResNet init first, then the ImageNet
        # weights (msfam_mm OptionalPretrainedInit); missing weights are an
        # error unless if_missing='scratch' (--from-scratch).
        init_cfg=[
            dict(type='Kaiming', layer='Conv2d'),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
            dict(
                type='PretrainedIfAvailable',
                checkpoint='torchvision://resnet50',
                if_missing='error'),
        ]),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_output',
        num_outs=5),
    bbox_head=dict(
        type='GFLV2Head',
        num_classes=1,  # person
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        reg_max=16,
        reg_topk=4,
        reg_channels=64,
        add_mean=True,
        anchor_generator=dict(
            type='AnchorGenerator',
            ratios=[1.0],
            octave_base_scale=8,
            scales_per_octave=1,
            strides=[8, 16, 32, 64, 128]),
        loss_cls=dict(
            type='QualityFocalLoss',
            use_sigmoid=True,
            activated=True,
            beta=2.0,
            loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(
        assigner=dict(type='ATSSAssigner', topk=9, ignore_iof_thr=0.5),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        # Low threshold: the miss-rate curve needs detections down to
        # 1 false positive per image.
        score_thr=0.01,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100))

train_pipeline = [
    dict(
        type='LoadImageFromFile',
        color_type='color',
        backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(
        type='LoadImageFromFile',
        color_type='color',
        backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        # 'instances' lets CocoMetric/KAISTMissRateMetric read the ground
        # truth (with ignore flags) straight from the dataset.
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'instances')),
]

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='KAISTDataset',
        data_root=data_root,
        image_set=train_image_set,
        modality=modality,
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='KAISTDataset',
        data_root=data_root,
        image_set=test_image_set,
        modality=modality,
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='CocoMetric', metric='bbox', format_only=False),
    dict(type='KAISTMissRateMetric'),
]
test_evaluator = val_evaluator

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=train_batch_size)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
