# Table 1 ablation at CPU scale, "fusion-only" training: the whole MSFAM
# network trained from random weights on the fusion pairs in one stage
# (no stage-1 reconstruction), with "only the basic L1 loss and SSIM loss"
# (Section 4.2.1): L1 + 2 x the equally weighted two-source MS-SSIM loss.
# Same data, crops, optimizer and length as the 100-iteration ablations of
# configs/cpu/ablations/; the encoder learns at the base rate.
_base_ = ['../msfam_stage2_cpu.py']

model = dict(stage1_checkpoint=None, classifier_checkpoint=None,
             freeze_encoder=False,
             loss=dict(constraint_weight=0.0,
                       pull_push=dict(direction='equal')))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'net.encoder': dict(lr_mult=1.0),
    'net.decoder': dict(lr_mult=1.0)}))
custom_hooks = [
    dict(type='FreezeCheckHook', frozen_modules=('classifier', ),
         eval_modules=('classifier', ))
]
train_cfg = dict(max_iters=100)
