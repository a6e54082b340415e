# configs/cpu/msfam_stage2_cpu_pullpush_600.py with 160x160 crops instead of
# 128x128 (closer to the paper's 320x256; 1.56x the pixels per step).
_base_ = ['./msfam_stage2_cpu_pullpush_600.py']

crop_size = (160, 160)
train_pipeline = [
    dict(type='LoadGreyImage', keys=('vis', 'ir')),
    dict(type='PairedRandomCrop', crop_size=crop_size, keys=('vis', 'ir')),
    dict(type='PairedRandomFlip', keys=('vis', 'ir'), hflip_prob=0.5,
         vflip_prob=0.5),
    dict(type='PackFusionInputs', keys=('vis', 'ir')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
