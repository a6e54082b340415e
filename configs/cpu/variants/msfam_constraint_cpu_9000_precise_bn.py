# msfam_constraint_cpu_9000.py (3x iterations) with the BatchNorm statistics
# recomputed before every validation (PreciseBNHook), as
# msfam_constraint_cpu_precise_bn.py does for the 3000 iterations of the
# shipped recipe.
_base_ = ['./msfam_constraint_cpu_9000.py']

custom_hooks = [dict(type='PreciseBNHook', num_batches=60)]
