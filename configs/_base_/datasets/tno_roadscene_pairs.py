# Aligned TNO + RoadScene pairs, 90/10 split (Section 4.1), for stage 2.
# data_root holds tno42/{vi,ir} and roadscene221/{vi,ir} (data/README.md);
# the split lists are versioned in the repository (data/splits).
data_root = 'data/'
split_dir = '{{ fileDirname }}/../../../data/splits/'
train_ann_file = split_dir + 'tno_roadscene_train.txt'
test_ann_file = split_dir + 'tno_roadscene_test.txt'
# Section 4.1: 320x256 training inputs, read as W x H -> (h, w) = (256, 320)
crop_size = (256, 320)

train_pipeline = [
    dict(type='LoadGreyImage', keys=('vis', 'ir')),
    dict(type='SyncedRandomCrop', crop_size=crop_size, keys=('vis', 'ir')),
    dict(type='SyncedRandomFlip', keys=('vis', 'ir'), hflip_prob=0.5,
         vflip_prob=0.5),
    dict(type='PackFusionInputs', keys=('vis', 'ir')),
]
# Section 4.1: "For testing, we used the original image size as input."
test_pipeline = [
    dict(type='LoadGreyImage', keys=('vis', 'ir')),
    dict(type='PackFusionInputs', keys=('vis', 'ir')),
]

train_dataloader = dict(
    batch_size=4,  # Section 4.1: batch size 4 for the fusion model
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='PairedFusionDataset',
        data_root=data_root,
        ann_file=train_ann_file,
        pipeline=train_pipeline))
# original sizes differ between images -> one image per batch
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='PairedFusionDataset',
        data_root=data_root,
        ann_file=test_ann_file,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
