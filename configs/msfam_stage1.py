# MSFAM stage 1, "reconstruction training" (Section 3.3, Eq. 1):
# encoder + decoder reconstruct single visible (greyed) / infrared images,
# L1 + 0.84 (1 - SSIM), Adam 1e-4, batch 4, 2 epochs (Section 4.1).
_base_ = [
    '_base_/default_runtime.py',
    '_base_/schedules/adam_1e-4.py',
    '_base_/datasets/single_band.py',
]

model = dict(
    type='MSFAMReconstructor',
    net=dict(type='MSFAMNet', with_fusion=False),
    loss=dict(type='ReconstructionLoss'),
    data_preprocessor=dict(type='FusionDataPreprocessor'))

# Section 4.1: "We trained two epochs to ensure the completeness of the
# training." No validation (the paper selects no stage-1 model); the last
# checkpoint feeds stage 2.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
