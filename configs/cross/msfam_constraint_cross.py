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
single_train_pipeline = _base_.single_train_pipeline
single_train_pipeline[1].crop_size = crop_size
rule_train_pipeline = _base_.rule_train_pipeline
rule_train_pipeline[1].crop_size = crop_size
VIS, IR, FUSED = _base_.VIS, _base_.IR, _base_.FUSED


def _roadscene(ann_file, single_pipeline, rule_pipeline, test_mode):
    common = dict(data_root='data/', ann_file=ann_file, test_mode=test_mode)
    return [
        dict(type='SingleBandImageDataset', column=0, label=VIS,
             pipeline=single_pipeline, **common),
        dict(type='SingleBandImageDataset', column=1, label=IR,
             pipeline=single_pipeline, **common),
        dict(type='PairedFusionDataset', label=FUSED, pipeline=rule_pipeline,
             **common),
    ]


train_dataloader = dict(
    # one scene set (RoadScene): balance the labels only
    sampler=dict(type='LabelBalancedSampler', match_scene_sets=False),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=_roadscene(train_ann_file, single_train_pipeline,
                            rule_train_pipeline, False)))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=_roadscene(val_ann_file, _base_.single_test_pipeline,
                            _base_.rule_test_pipeline, True)))
test_dataloader = val_dataloader
custom_hooks = [dict(type='CompileHook')]
