# Table 3 ablation at CPU scale: stage 2 without the Pull-Push weighting.
# The two-source MS-SSIM term stays, with fixed equal weights (0.5, 0.5)
# instead of Algorithm 2's adaptive ones (PullPushLoss direction='equal'),
# so the run differs from configs/cpu/msfam_stage2_cpu.py only in the
# weighting. 100 iterations, compared with iter_100.pth of the full run.
_base_ = ['../msfam_stage2_cpu.py']

model = dict(loss=dict(pull_push=dict(direction='equal')))
train_cfg = dict(max_iters=100)
