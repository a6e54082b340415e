# GFLV2 R50-FPN 24e on KAIST thermal (lwir) frames, Table 7 row 'Infrared'.
_base_ = './gflv2_r50_fpn_24e_kaist_base.py'

modality = 'lwir'
train_dataloader = dict(dataset=dict(modality=modality))
val_dataloader = dict(dataset=dict(modality=modality))
test_dataloader = val_dataloader
