# configs/cpu/msfam_constraint_cpu.py with the BatchNorm statistics
# recomputed over 60 training batches before every validation
# (PreciseBNHook): the running averages of training lagged the weights and
# made the held-out exact match swing between checks (docs/training.md,
# "Classifier: BatchNorm statistics and length").
_base_ = ['./msfam_constraint_cpu.py']

custom_hooks = [dict(type='PreciseBNHook', num_batches=60)]
