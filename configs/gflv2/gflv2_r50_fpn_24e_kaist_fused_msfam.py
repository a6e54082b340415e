# GFLV2 R50-FPN 24e on MSFAM-fused KAIST frames, Table 7 row 'MSFAM'.
# Annotations and image lists come from data_root (KAIST, only read); the
# fused frames from the output root of tools/fuse_kaist.py, which never
# writes into KAIST (README, "Detection on KAIST"):
#   python tools/fuse_kaist.py data/kaist work_dirs/kaist_msfam --method msfam
#       --checkpoint CKPT --image-set imageSets/train-all-02.txt
#       (then test-all-20.txt; CKPT: your stage-2 weights)
# Another output root: --cfg-options with the three dataloaders' img_subdir
# (an absolute OUT_ROOT/images); tools/compare_detection.py does this for
# --types LABEL=OUT_ROOT:fused.
_base_ = './gflv2_r50_fpn_24e_kaist_base.py'

modality = 'fused'  # tools/fuse_kaist.py --modality default
fused_images = '{{ fileDirname }}/../../work_dirs/kaist_msfam/images'
train_dataloader = dict(
    dataset=dict(modality=modality, img_subdir=fused_images))
val_dataloader = dict(
    dataset=dict(modality=modality, img_subdir=fused_images))
test_dataloader = val_dataloader
