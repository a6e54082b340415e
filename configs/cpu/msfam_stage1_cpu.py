# CPU schedule for MSFAM stage 1 (reconstruction, Section 3.3, Eq. 1).
#
#                paper (Section 4.1)             this config (CPU)
#   data         FLIR, ~20k single images        every visible and infrared
#                                                image here: RoadScene 221 x 2,
#                                                TNO 42 x 2, KAIST sample
#                                                13 x 2
#                                                (552 images; FLIR is not
#                                                available)
#   crop         320x256                         64x64
#   batch        4                               8
#   length       2 epochs (~10k iterations)      max_iters below
#   optimizer    Adam 1e-4, fixed                Adam 1e-3, fixed (10x: a few
#                                                hundred iterations only)
#   precision    fp32 (GPU)                      bf16 autocast (--amp), loss
#                                                in fp32
#
# Without FLIR, stage 1 takes every image available, the 26 held-out pairs
# of data/splits included: it only learns to reconstruct single images and
# never sees a fusion target, so the held-out pairs stay unseen as fusion
# examples.
# The iteration-based loop (instead of epochs) lets the run fit a wall-time
# budget on the CPU and resume mid-way (tools/train.py --resume).
_base_ = ['../msfam_stage1.py']

crop_size = (64, 64)
kaist_dirs = [
    f'kaist_sample/images/{seq}/{band}'
    for seq in ('set06/V001', 'set07/V002', 'set08/V000', 'set08/V001',
                'set08/V002', 'set09/V000', 'set10/V001', 'set11/V000')
    for band in ('visible', 'lwir')
]
# the crop is step 1 of the inherited pipeline; everything else stays
train_pipeline = _base_.train_pipeline
train_pipeline[1].crop_size = crop_size
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        ann_file='',
        img_dirs=['roadscene221/vi', 'roadscene221/ir', 'tno42/vi',
                  'tno42/ir'] + kaist_dirs,
        pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=800)
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=100,
                    max_keep_ckpts=1, save_last=True))
