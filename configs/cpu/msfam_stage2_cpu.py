# CPU schedule for MSFAM stage 2 (fusion training, Sections 3.3-3.6, Eq. 2).
#
#                paper (Section 4.1)           this config (CPU)
#   data         TNO + RoadScene 90 % split    the same committed split
#                                              (data/splits, 237 train pairs)
#   crop         320x256                       128x128
#   batch        4                             4
#   length       20 epochs, best model kept    max_iters below; no validation
#                                              during training (a pass over
#                                              the 26 held-out pairs at full
#                                              size costs minutes here);
#                                              tools/make_report.py scores
#                                              the last checkpoint
#   loss         L1 + 0.84 Lc + 2 Lpp          the same (configs/msfam_stage2)
#   optimizer    Adam 1e-4, fixed; encoder     Adam 1e-3 (10x: hundreds of
#                and classifier lr 0,          iterations only), cosine decay
#                decoder 0.5x                  to 1e-5, the same lr
#                                              multipliers
#   precision    fp32 (GPU)                    bf16 autocast (--amp), losses
#                                              in fp32
# The iteration-based loop (instead of epochs) lets the run fit a wall-time
# budget on the CPU and resume mid-way (tools/train.py --resume).
_base_ = ['../msfam_stage2.py']

classifier_checkpoint = ('work_dirs/msfam_constraint_cpu/'
                         'best_constraint_accuracy_*.pth')
model = dict(stage1_checkpoint='work_dirs/msfam_stage1_cpu/iter_*.pth',
             classifier_checkpoint=classifier_checkpoint)

crop_size = (128, 128)
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
max_iters = 300
# cosine decay to 1 % so the shipped (last) checkpoint is not one noisy
# step of a large constant rate; the 100-iteration ablations of
# configs/cpu/ablations/ inherit this schedule, so they are exactly the
# first 100 iterations of a run like this one. eta_min is one absolute floor
# for every parameter group, so the decoder's 0.5x (Section 4.1) holds for
# most of the run but not at its end: decoder/fusion-block rate
# (1e-5 + 4.9e-4 c) / (1e-5 + 9.9e-4 c), c = (1 + cos(pi t / T)) / 2, is
# 0.56 at t = 250 and 0.89 at t = 290 of 300 (eta_min_ratio would keep
# 0.5; the shipped weights were trained with this schedule).
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         T_max=max_iters, eta_min=1e-5)
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters)
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    # every 50 iterations, all kept: the Table 1/3 ablations (100
    # iterations) are compared with iter_100.pth of this run
    checkpoint=dict(_delete_=True, type='CheckpointHook', by_epoch=False,
                    interval=50, max_keep_ckpts=-1, save_last=True))
