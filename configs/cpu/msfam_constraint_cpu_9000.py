# configs/cpu/msfam_constraint_cpu.py for 9000 iterations (3x), cosine
# stretched over all of them. The shipped classifier underfits: its exact
# match on central crops of its own training split (72.0 %) is no higher
# than on the held-out split (72.4 %; docs/training.md, "Classifier:
# BatchNorm statistics and length").
_base_ = ['./msfam_constraint_cpu.py']

max_iters = 9000
train_cfg = dict(max_iters=max_iters, val_interval=1000)
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         T_max=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(interval=1000))
