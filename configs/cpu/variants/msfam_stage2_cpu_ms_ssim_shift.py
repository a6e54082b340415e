# The shipped CPU stage 2 with the MS-SSIM terms of the Pull-Push loss
# shifted to (t + 1) / 2 before the power (ms_ssim(terms='shift')), as the
# training code of the NestFuse family builds its MS-SSIM losses. With
# Wang's clamped terms the pull of the visible term nearly vanishes once
# the fused image is anti-correlated with the visible one at a coarse
# scale, as the shipped run's outputs are; this run asks whether the clamp
# causes the drift to the infrared image (docs/losses.md, "MS-SSIM terms in
# stage 2", has the answer and the command).
_base_ = ['../msfam_stage2_cpu.py']

model = dict(loss=dict(pull_push=dict(ms_ssim_terms='shift')))
