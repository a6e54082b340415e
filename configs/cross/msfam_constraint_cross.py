# Cross-dataset protocol, the Semantic Constraint classifier (Section 3.5):
# visible (1, 0), infrared (0, 1) and fused (1, 1) images of RoadScene only.
# The CPU classifier recipe (configs/cpu/msfam_constraint_cpu.py: Adam
# 1e-3 with cosine decay to 1e-5, 3000 iterations, validated every 500,
# best kept) on other data and the paper's crop:
#
#   training     the RoadScene training split (data/splits/roadscene_train,
#                199 pairs): its visible and infrared images and rule-based
#                fusions of its pairs (RandomRuleFusion: weighted average,
#                max, two-scale). No published TNO fusion, no TNO image.
#   validation   the RoadScene validation split (22 pairs), central 320x256
#                crops, each pair fused with a rule fixed by its file
#   crop         320x256 (the paper's; stage 2 judges crops of this size)
#   batch        16, label-balanced
_base_ = ['../cpu/msfam_constraint_cpu.py']

split_dir = '{{ fileDirname }}/../../data/splits/'
train_ann_file = split_dir + 'roadscene_train.txt'
val_ann_file = split_dir + 'roadscene_val.txt'
crop_size = (256, 320)
# the base's visible, infrared and rule-fused data sets (the first three of
# each list; the fourth, TNO's published fusions, is left out) on the
# RoadScene split, at the paper's crop
train_datasets = _base_.train_dataloader.dataset.datasets[:3]
val_datasets = _base_.val_dataloader.dataset.datasets[:3]
for source in train_datasets:
    source.ann_file = train_ann_file
    source.pipeline[1].crop_size = crop_size
for source in val_datasets:
    source.ann_file = val_ann_file
del source

train_dataloader = dict(
    # one scene set (RoadScene): balance the labels only
    sampler=dict(type='LabelBalancedSampler', match_scene_sets=False),
    dataset=dict(_delete_=True, type='ConcatDataset',
                 datasets=train_datasets))
val_dataloader = dict(
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=val_datasets))
test_dataloader = val_dataloader
custom_hooks = [dict(type='CompileHook')]
