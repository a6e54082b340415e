# Table 3's "P only" row at CPU scale: the full run
# (msfam_stage2_cpu_full.py) without the Semantic Constraint (alpha_2 = 0,
# no classifier), for the first 100 iterations of its cosine schedule.
_base_ = ['./msfam_stage2_cpu_full.py']

model = dict(loss=dict(constraint_weight=0.0), classifier_checkpoint=None)
train_cfg = dict(max_iters=100)
