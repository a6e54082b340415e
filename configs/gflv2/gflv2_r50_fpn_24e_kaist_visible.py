# GFLV2 R50-FPN 24e on KAIST visible (colour) frames, Table 7 row 'Visible'.
_base_ = './gflv2_r50_fpn_24e_kaist_base.py'

modality = 'visible'
train_dataloader = dict(dataset=dict(modality=modality))
val_dataloader = dict(dataset=dict(modality=modality))
test_dataloader = val_dataloader
