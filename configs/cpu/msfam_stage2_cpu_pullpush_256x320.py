# The shipped CPU stage 2 (since 2026-11-29): Eq. 2 without the Semantic
# Constraint (alpha_2 = 0, as configs/cpu/msfam_stage2_cpu_pullpush.py) on
# the paper's 256x320 (HxW) crops (Section 4.1) instead of 128x128, batch
# 4, for the whole 300-iteration cosine schedule of
# configs/cpu/msfam_stage2_cpu.py (lr 1e-3 to 1e-5). It is the "P only"
# ablation (configs/cpu/ablations/msfam_stage2_cpu_no_constraint.py) with
# the crop and the length changed. It was trained in three pieces of 100
# iterations (--resume, raising max_iters on the command line; this file
# holds the whole run); on the held-out split its last checkpoint scored
# above the 100-iteration one on four of the six goal metrics
# (checkpoints/README.md).
_base_ = ['./ablations/msfam_stage2_cpu_no_constraint.py']

# old-style configs cannot edit one element of the inherited pipeline,
# so the pipeline is restated with the crop changed
crop_size = (256, 320)
train_pipeline = [
    dict(type='LoadGreyImage', keys=('vis', 'ir')),
    dict(type='PairedRandomCrop', crop_size=crop_size, keys=('vis', 'ir')),
    dict(type='PairedRandomFlip', keys=('vis', 'ir'), hflip_prob=0.5,
         vflip_prob=0.5),
    dict(type='PackFusionInputs', keys=('vis', 'ir')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_iters=300)
