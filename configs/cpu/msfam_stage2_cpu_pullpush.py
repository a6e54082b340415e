# The shipped CPU stage 2: Eq. 2 without the Semantic Constraint
# (alpha_2 = 0; why: checkpoints/README.md), i.e. L1 + 2 Pull-Push, for
# 300 iterations -- the length of the full run configs/cpu/
# msfam_stage2_cpu.py, with its data, 4 x 128x128 crops, optimizer, seed
# and cosine schedule (T_max 300). Its first 100 iterations are exactly
# the "P only" ablation (configs/cpu/ablations/
# msfam_stage2_cpu_no_constraint.py), which the shipped run resumed from.
_base_ = ['./ablations/msfam_stage2_cpu_no_constraint.py']

train_cfg = dict(max_iters=300)
