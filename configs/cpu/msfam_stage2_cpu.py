# CPU schedule for MSFAM stage 2 (fusion training, Sections 3.3-3.6, Eq. 2).
#
#                paper (Section 4.1)           this config (CPU)
#   data         TNO + RoadScene 90 % split    the same committed split
#                                              (data/splits, 237 train pairs)
#   crop         320x256                       64x64
#   batch        4                             4
#   length       20 epochs, best model kept    max_iters below (stopped by
#                                              wall time); no
#                                              validation during training (one
#                                              pass over the 26 held-out pairs
#                                              at full size costs ~10 min
#                                              here); tools/make_report.py
#                                              scores the last checkpoint
#   loss         L1 + 0.84 Lc + 2 Lpp          the same (configs/msfam_stage2)
#   optimizer    Adam 1e-4; encoder and        Adam 1e-3 (10x: tens of
#                classifier lr 0, decoder 0.5x iterations only), the same
#                                              lr multipliers
# The iteration-based loop (instead of epochs) lets the run fit a wall-time
# budget on the CPU and resume mid-way (tools/train.py --resume).
_base_ = ['../msfam_stage2.py']

classifier_checkpoint = ('work_dirs/msfam_constraint_cpu/'
                         'best_constraint_accuracy_*.pth')
model = dict(stage1_checkpoint='work_dirs/msfam_stage1_cpu/iter_*.pth',
             classifier_checkpoint=classifier_checkpoint)

crop_size = (64, 64)
train_pipeline = [
    dict(type='LoadGreyImage', keys=('vis', 'ir')),
    dict(type='PairedRandomCrop', crop_size=crop_size, keys=('vis', 'ir')),
    dict(type='PairedRandomFlip', keys=('vis', 'ir'), hflip_prob=0.5,
         vflip_prob=0.5),
    dict(type='PackFusionInputs', keys=('vis', 'ir')),
]
train_dataloader = dict(num_workers=1,
                        dataset=dict(pipeline=train_pipeline))
val_cfg = None
val_dataloader = None
val_evaluator = None
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=40)
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(_delete_=True, type='CheckpointHook', by_epoch=False,
                    interval=10, max_keep_ckpts=1, save_last=True))
