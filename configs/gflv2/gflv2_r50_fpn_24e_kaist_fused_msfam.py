# GFLV2 R50-FPN 24e on MSFAM-fused KAIST frames, Table 7 row 'MSFAM'.
# Expects images/setXX/VYYY/fused_msfam/ in data_root (MSFAM outputs of
# tools/fuse_kaist.py placed beside visible/ and lwir/).
_base_ = './gflv2_r50_fpn_24e_kaist_base.py'

modality = 'fused_msfam'
train_dataloader = dict(dataset=dict(modality=modality))
val_dataloader = dict(dataset=dict(modality=modality))
test_dataloader = val_dataloader
