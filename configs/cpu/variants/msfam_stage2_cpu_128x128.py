# The shipped CPU stage 2 on 128x128 crops instead of the paper's 256x320
# (a quarter of the pixels per step): the rows "P only, 128x128" of
# docs/RESULTS.md, and the base of the longer and larger-crop variants.
_base_ = ['../msfam_stage2_cpu.py']

# the crop is step 1 of the inherited pipeline; everything else stays
crop_size = (128, 128)
train_pipeline = _base_.train_pipeline
train_pipeline[1].crop_size = crop_size
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
