# Semantic Constraint classifier data (Section 3.5): visible -> (1, 0),
# infrared -> (0, 1), fused -> (1, 1). Fused images are computed on the fly
# from every pair with simple rules (RandomRuleFusion), plus, for training,
# the published fusions of 9 methods on TNO (data/tno42_published_fusions);
# the published fusions are restricted to the TNO images of each split.
data_root = 'data/'
split_dir = '{{ fileDirname }}/../../../data/splits/'
train_ann_file = split_dir + 'tno_roadscene_train.txt'
test_ann_file = split_dir + 'tno_roadscene_test.txt'
published_fusions = 'tno42_published_fusions'
published_methods = ('DenseFuse', 'FusionGAN', 'IFCNN', 'PIAFusion', 'PMGI',
                     'RFN-Nest', 'SDNet', 'SeAFusion', 'U2Fusion')
crop_size = (256, 320)
VIS, IR, FUSED = (1., 0.), (0., 1.), (1., 1.)

single_train_pipeline = [
    dict(type='LoadGreyImage', keys=('img', )),
    dict(type='SyncedRandomCrop', crop_size=crop_size, keys=('img', )),
    dict(type='SyncedRandomFlip', keys=('img', )),
    dict(type='PackFusionInputs', keys=('img', )),
]
rule_train_pipeline = [
    dict(type='LoadGreyImage', keys=('vis', 'ir')),
    dict(type='SyncedRandomCrop', crop_size=crop_size, keys=('vis', 'ir')),
    dict(type='SyncedRandomFlip', keys=('vis', 'ir')),
    dict(type='RandomRuleFusion', keys=('vis', 'ir'), out_key='img'),
    dict(type='PackFusionInputs', keys=('img', )),
]
# validation: central crops of the training size (the classifier sees
# 320x256 inputs in stage 2 as well), so batches can be stacked; the fusion
# rule of the on-the-fly fused images is drawn once per held-out pair
# (seeded by its file, below), so every validation sees the same images
single_test_pipeline = [
    dict(type='LoadGreyImage', keys=('img', )),
    dict(type='SyncedCenterCrop', crop_size=crop_size, keys=('img', )),
    dict(type='PackFusionInputs', keys=('img', )),
]
rule_test_pipeline = [
    dict(type='LoadGreyImage', keys=('vis', 'ir')),
    dict(type='SyncedCenterCrop', crop_size=crop_size, keys=('vis', 'ir')),
    # seeded by the pair's file: every validation fuses each held-out pair
    # with the same rule, so the checks (and the best checkpoint) compare
    # like with like
    dict(type='RandomRuleFusion', keys=('vis', 'ir'), out_key='img',
         seed=0),
    dict(type='PackFusionInputs', keys=('img', )),
]


def _split_datasets(ann_file, single_pipeline, rule_pipeline, test_mode):
    common = dict(data_root=data_root, ann_file=ann_file, test_mode=test_mode)
    return [
        dict(type='SingleBandImageDataset', column=0, label=VIS,
             pipeline=single_pipeline, **common),
        dict(type='SingleBandImageDataset', column=1, label=IR,
             pipeline=single_pipeline, **common),
        dict(type='PairedFusionDataset', label=FUSED, pipeline=rule_pipeline,
             **common),
    ]


train_dataloader = dict(
    batch_size=16,  # Section 4.1: batch size 16 for the constraint model
    num_workers=2,
    persistent_workers=True,
    # visible, infrared and fused drawn equally often, each with the same
    # mix of TNO and RoadScene scenes: fused examples are 55 % of the data
    # and two thirds of them are TNO (the published fusions), so a plain
    # shuffle lets the classifier answer (1, 1) for everything or "TNO
    # means fused" (docs/training.md)
    # no seed here: the Runner passes randomness.seed (default 0)
    sampler=dict(type='LabelBalancedSampler', match_scene_sets=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='ConcatDataset',
        datasets=_split_datasets(train_ann_file, single_train_pipeline,
                                 rule_train_pipeline, False) + [
            dict(type='PublishedFusionDataset', data_root=data_root,
                 fusion_root=published_fusions, methods=published_methods,
                 pairs_ann_file=train_ann_file, label=FUSED,
                 pipeline=single_train_pipeline)
        ]))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='ConcatDataset',
        datasets=_split_datasets(test_ann_file, single_test_pipeline,
                                 rule_test_pipeline, True) + [
            dict(type='PublishedFusionDataset', data_root=data_root,
                 fusion_root=published_fusions, methods=published_methods,
                 pairs_ann_file=test_ann_file, label=FUSED, test_mode=True,
                 pipeline=single_test_pipeline)
        ]))
test_dataloader = val_dataloader
