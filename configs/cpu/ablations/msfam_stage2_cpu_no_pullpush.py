# Table 3's "C only" row at CPU scale: the full run
# (msfam_stage2_cpu_full.py) without the Pull-Push weighting, for the first
# 100 iterations of its cosine schedule. The two-source MS-SSIM term stays,
# with fixed equal weights (0.5, 0.5) instead of Algorithm 2's adaptive
# ones (PullPushLoss direction='equal').
_base_ = ['./msfam_stage2_cpu_full.py']

model = dict(loss=dict(pull_push=dict(direction='equal')))
train_cfg = dict(max_iters=100)
