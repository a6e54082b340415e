# Table 1's "fusion-only" row at CPU scale: the baseline row
# (msfam_stage2_cpu_baseline.py: "only the basic L1 loss and SSIM loss",
# Section 4.2.1) trained in one stage: the whole MSFAM network from random
# weights, no stage-1 reconstruction, the encoder and decoder learning at
# the base rate. Same data, crops, optimizer and 100 iterations as the
# other rows.
_base_ = ['./msfam_stage2_cpu_baseline.py']

model = dict(stage1_checkpoint=None, freeze_encoder=False)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'net.encoder': dict(lr_mult=1.0),
    'net.decoder': dict(lr_mult=1.0)}))
custom_hooks = [
    dict(type='FreezeCheckHook', frozen_modules=('classifier', ),
         eval_modules=('classifier', ))
]
