# Table 3 ablation at CPU scale: stage 2 without the Semantic Constraint
# loss (alpha_2 = 0 in Eq. 2); everything else as
# configs/cpu/msfam_stage2_cpu.py. 100 iterations, compared with
# iter_100.pth of the full run.
_base_ = ['../msfam_stage2_cpu.py']

model = dict(loss=dict(constraint_weight=0.0), classifier_checkpoint=None)
train_cfg = dict(max_iters=100)
