# msfam_stage2_cpu_128x128.py for 600 iterations, the cosine decay
# stretched over all of them: does a longer CPU run help?
_base_ = ['./msfam_stage2_cpu_128x128.py']

max_iters = 600
train_cfg = dict(max_iters=max_iters)
param_scheduler = _base_.param_scheduler
param_scheduler[0].update(end=max_iters, T_max=max_iters)
default_hooks = dict(checkpoint=dict(interval=100))
