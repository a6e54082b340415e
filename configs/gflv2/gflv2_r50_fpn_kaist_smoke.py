# Smoke run of the Table 7 pipeline on a GPU: gflv2_r50_fpn_24e_kaist_base.py
# (GFLV2 R50-FPN, KAIST 640x512, batch 8 per GPU) for one epoch over the first
# 2,000 training frames with a person (250 iterations at batch 8), then the
# full test list. It checks that data, training, testing, both metrics, the
# figures and the pictures work on the machine before a 24-epoch run, and its
# log's `time` (s/iter) is what the full run's duration is estimated from
# (docs/detection.md). Not a result: the 500-iteration warm-up does not end.
#   python tools/compare_detection.py --kaist data/kaist --types visible,lwir \
#       --config configs/gflv2/gflv2_r50_fpn_kaist_smoke.py \
#       --work-dir work_dirs/table7_smoke [--gpus N]
_base_ = './gflv2_r50_fpn_24e_kaist_base.py'

train_dataloader = dict(dataset=dict(indices=2000))
train_cfg = dict(max_epochs=1, val_interval=1)
