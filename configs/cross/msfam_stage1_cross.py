# Cross-dataset protocol, stage 1 (Section 3.3, Eq. 1): the paper's
# reconstruction training on images that share no scene with the test set.
#
#   images   every single visible (greyed) and infrared image of
#            RoadScene-221 and of the KAIST sample (2 x 221 + 2 x 13);
#            no TNO image (TNO-42 is the protocol's test set)
#   crop     320x256, batch 4, Adam 1e-4, 10090 updates (the paper's two
#            FLIR epochs, configs/msfam_stage1.py)
#   speed    the network's training path compiled (CompileHook,
#            docs/benchmarks.md "Training step"); tools/train.py --amp for
#            bf16 on CPU / fp16 on CUDA
# tools/train_all.py runs the three trainings of the protocol in order and
# may shorten this schedule to a time budget (it prints what it runs).
_base_ = ['../msfam_stage1.py']

kaist_dirs = [
    f'kaist_sample/images/{seq}/{band}'
    for seq in ('set06/V001', 'set07/V002', 'set08/V000', 'set08/V001',
                'set08/V002', 'set09/V000', 'set10/V001', 'set11/V000')
    for band in ('visible', 'lwir')
]
train_dataloader = dict(
    num_workers=1,
    dataset=dict(
        ann_file='',
        img_dirs=['roadscene221/vi', 'roadscene221/ir'] + kaist_dirs))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=250,
                    max_keep_ckpts=1, save_last=True))
custom_hooks = [dict(type='CompileHook')]
