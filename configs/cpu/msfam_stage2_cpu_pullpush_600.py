# configs/cpu/msfam_stage2_cpu_pullpush.py (L1 + 2 Pull-Push, alpha_2 = 0)
# for 600 iterations, with the cosine decay stretched over all of them:
# does a longer CPU run help? (docs/RESULTS.md, ablations)
_base_ = ['./msfam_stage2_cpu_pullpush.py']

max_iters = 600
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         T_max=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(interval=100))
