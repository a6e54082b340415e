# MSFAM stage 2, "fusion training" (Sections 3.3-3.6, Eq. 2, Section 4.1):
# attention fusion blocks between the stage-1 encoder and decoder, frozen
# Semantic Constraint classifier, L1 + 0.84 L_constraint + 2 L_pull-push,
# Adam 1e-4, batch 4, 20 epochs, encoder/classifier lr 0, decoder 0.5x,
# best model kept by validation on the 10 % test split.
_base_ = [
    '_base_/default_runtime.py',
    '_base_/schedules/adam_1e-4.py',
    '_base_/datasets/tno_roadscene_pairs.py',
]

# Checkpoints of the two earlier trainings (tools/train.py writes them to
# work_dirs/<config name>/). A '*' pattern must match exactly one file (the
# classifier's best checkpoint name carries its epoch). Override with
# --cfg-options
# model.stage1_checkpoint=... model.classifier_checkpoint=...
stage1_checkpoint = 'work_dirs/msfam_stage1/iter_10090.pth'
classifier_checkpoint = ('work_dirs/msfam_constraint/'
                         'best_constraint_accuracy_*.pth')

model = dict(
    type='MSFAMFusion',
    net=dict(type='MSFAMNet', with_fusion=True),
    classifier=dict(type='SemanticConstraintClassifier'),
    # MS-SSIM of the Pull-Push term with reflect padding: with 'valid'
    # windows the border pixels are almost unconstrained, and the output
    # grew spikes there that Section 4.1's min-max normalisation turns
    # into a flat image (docs/losses.md)
    loss=dict(type='FusionLoss', l1_weight=1.0, constraint_weight=0.84,
              pull_push_weight=2.0, pull_push=dict(padding='reflect')),
    stage1_checkpoint=stage1_checkpoint,
    classifier_checkpoint=classifier_checkpoint,
    freeze_encoder=True,
    data_preprocessor=dict(type='FusionDataPreprocessor'))

# Section 4.1: encoder and constraint network lr 0 (they are also frozen with
# requires_grad=False), decoder at 50 % of the base lr, fusion blocks at 1x.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4),
    paramwise_cfg=dict(
        custom_keys={
            'net.encoder': dict(lr_mult=0.0),
            'classifier': dict(lr_mult=0.0),
            'net.decoder': dict(lr_mult=0.5),
            'net.fusion_blocks': dict(lr_mult=1.0),
        }))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Section 4.1's six metrics on the held-out pairs; "selected the best model"
# by MS-SSIM (docs/training.md explains the choice).
val_evaluator = dict(type='FusionMetric')
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=1,
        save_best='fusion/MS_SSIM', rule='greater'))
custom_hooks = [
    dict(type='FreezeCheckHook', frozen_modules=('net.encoder', 'classifier'),
         eval_modules=('classifier', ))
]
