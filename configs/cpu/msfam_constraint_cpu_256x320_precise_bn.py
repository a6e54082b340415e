# configs/cpu/msfam_constraint_cpu_precise_bn.py with training crops of
# 256x320, the size the classifier is validated on and sees in stage 2 (the
# paper's 320x256), instead of 128x160: four times the pixels per step.
# The 128x160-trained classifiers judged whole images worse than crops
# (docs/training.md, "Classifier: BatchNorm statistics and length").
_base_ = ['./msfam_constraint_cpu_precise_bn.py']

crop_size = (256, 320)
data_root = 'data/'
split_dir = '{{ fileDirname }}/../../data/splits/'
train_ann_file = split_dir + 'tno_roadscene_train.txt'
VIS, IR, FUSED = (1., 0.), (0., 1.), (1., 1.)
single_train_pipeline = [
    dict(type='LoadGreyImage', keys=('img', )),
    dict(type='PairedRandomCrop', crop_size=crop_size, keys=('img', )),
    dict(type='PairedRandomFlip', keys=('img', )),
    dict(type='PackFusionInputs', keys=('img', )),
]
rule_train_pipeline = [
    dict(type='LoadGreyImage', keys=('vis', 'ir')),
    dict(type='PairedRandomCrop', crop_size=crop_size, keys=('vis', 'ir')),
    dict(type='PairedRandomFlip', keys=('vis', 'ir')),
    dict(type='RandomRuleFusion', keys=('vis', 'ir'), out_key='img'),
    dict(type='PackFusionInputs', keys=('img', )),
]
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(type='SingleBandImageDataset', column=0, label=VIS,
             data_root=data_root, ann_file=train_ann_file,
             pipeline=single_train_pipeline),
        dict(type='SingleBandImageDataset', column=1, label=IR,
             data_root=data_root, ann_file=train_ann_file,
             pipeline=single_train_pipeline),
        dict(type='PairedFusionDataset', label=FUSED, data_root=data_root,
             ann_file=train_ann_file, pipeline=rule_train_pipeline),
        dict(type='PublishedFusionDataset', data_root=data_root,
             fusion_root='tno42_published_fusions',
             methods={{_base_.published_methods}},
             pairs_ann_file=train_ann_file, label=FUSED,
             pipeline=single_train_pipeline),
    ]))
