# Table 2's "w/o attention" row at CPU scale: the shipped stage 2
# (msfam_stage2_cpu.py: same data, crops, schedule, loss and lr
# multipliers) with each scale's attention fusion block replaced by plain
# 5x5 convolutions (ConvFusionBlock: [F_vis, F_ir] -> conv5x5 2C->C ->
# LeakyReLU -> conv5x5 C->C, Section 4.2.2). Its "w/ attention" row is the
# shipped stage 2 itself. The new blocks train at the fusion blocks' 1x
# rate ('net.fusion_blocks' in the paramwise_cfg covers them too).
_base_ = ['../msfam_stage2_cpu.py']

model = dict(net=dict(fusion_block='conv'))
