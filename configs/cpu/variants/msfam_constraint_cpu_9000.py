# The shipped classifier's recipe (configs/cpu/msfam_constraint_cpu.py) for
# 9000 iterations (3x), the cosine decay stretched over all of them and
# validated every 1000: does fitting longer help a classifier that
# underfits? (docs/training.md, "Classifier: BatchNorm statistics and
# length", has the runs and their results.)
_base_ = ['../msfam_constraint_cpu.py']

max_iters = 9000
train_cfg = dict(max_iters=max_iters, val_interval=1000)
param_scheduler = _base_.param_scheduler
param_scheduler[0].update(end=max_iters, T_max=max_iters)
default_hooks = dict(checkpoint=dict(interval=1000))
