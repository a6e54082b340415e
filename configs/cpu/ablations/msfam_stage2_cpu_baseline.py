# Table 3 ablation at CPU scale: stage 2 with neither the Pull-Push
# weighting nor the Semantic Constraint: L1 + 2 x the equally weighted
# two-source MS-SSIM loss, on the stage-1 encoder and decoder. 100
# iterations, compared with iter_100.pth of the full run.
_base_ = ['../msfam_stage2_cpu.py']

model = dict(loss=dict(constraint_weight=0.0,
                       pull_push=dict(direction='equal')),
             classifier_checkpoint=None)
train_cfg = dict(max_iters=100)
