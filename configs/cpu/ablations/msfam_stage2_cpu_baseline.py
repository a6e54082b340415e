# Table 3's baseline row ("neither") at CPU scale: the "P only" row
# (msfam_stage2_cpu_no_constraint.py, 100 iterations) with the Pull-Push
# weighting replaced by fixed equal weights, i.e. L1 + 2 x the equally
# weighted two-source MS-SSIM loss on the stage-1 encoder and decoder.
_base_ = ['./msfam_stage2_cpu_no_constraint.py']

model = dict(loss=dict(pull_push=dict(direction='equal')))
