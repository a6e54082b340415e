# Single visible (greyed) and infrared images for stage 1 (Section 3.3).
# The paper uses FLIR (9676 visible + 10501 infrared images), which is not
# redistributable here; by default stage 1 uses every visible and infrared
# image of the stage-2 *training* split (2 x 237 images), so the test pairs
# stay unseen as with FLIR. Point img_dirs at a FLIR copy to follow the paper:
#   --cfg-options train_dataloader.dataset.ann_file='' \
#       "train_dataloader.dataset.img_dirs=['FLIR/visible','FLIR/thermal']"
data_root = 'data/'
split_dir = '{{ fileDirname }}/../../../data/splits/'
train_ann_file = split_dir + 'tno_roadscene_train.txt'
crop_size = (256, 320)

train_pipeline = [
    dict(type='LoadGreyImage', keys=('img', )),
    dict(type='SyncedRandomCrop', crop_size=crop_size, keys=('img', )),
    dict(type='SyncedRandomFlip', keys=('img', ), hflip_prob=0.5,
         vflip_prob=0.5),
    dict(type='PackFusionInputs', keys=('img', )),
]

train_dataloader = dict(
    batch_size=4,  # Section 4.1
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='SingleBandImageDataset',
        data_root=data_root,
        ann_file=train_ann_file,
        column=None,  # both images of every pair
        pipeline=train_pipeline))
