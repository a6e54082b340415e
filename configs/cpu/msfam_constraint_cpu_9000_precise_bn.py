# configs/cpu/msfam_constraint_cpu_9000.py (3x iterations) with the
# BatchNorm statistics recomputed before every validation (PreciseBNHook),
# as configs/cpu/msfam_constraint_cpu_precise_bn.py does for 3000.
_base_ = ['./msfam_constraint_cpu_9000.py']

custom_hooks = [dict(type='PreciseBNHook', num_batches=60)]
