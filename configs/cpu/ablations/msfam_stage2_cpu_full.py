# Table 3's "P + C" row at CPU scale: the shipped CPU stage 2 with the full
# Eq. 2 (Semantic Constraint back at the paper's alpha_2 = 0.84, Section
# 4.1, with the CPU-trained classifier) on the 128x128 crops of the
# ablations. 300 iterations; the table compares its iter_100.pth with the
# other rows (100 iterations of the same cosine) and shows iter_300.pth.
_base_ = ['../msfam_stage2_cpu.py']

classifier_checkpoint = ('work_dirs/msfam_constraint_cpu/'
                         'best_constraint_accuracy_*.pth')
model = dict(loss=dict(constraint_weight=0.84),
             classifier_checkpoint=classifier_checkpoint)

# the crop is step 1 of the inherited pipeline; everything else stays
crop_size = (128, 128)
train_pipeline = _base_.train_pipeline
train_pipeline[1].crop_size = crop_size
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
