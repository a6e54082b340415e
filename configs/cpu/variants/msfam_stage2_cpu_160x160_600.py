# msfam_stage2_cpu_128x128_600.py on 160x160 crops (1.56x the pixels per
# step, closer to the paper's 256x320).
_base_ = ['./msfam_stage2_cpu_128x128_600.py']

crop_size = (160, 160)
train_pipeline = _base_.train_pipeline
train_pipeline[1].crop_size = crop_size
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
