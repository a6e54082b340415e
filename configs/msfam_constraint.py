# Semantic Constraint classifier (Section 3.5): 4 conv + 1 FC multi-label
# classifier, BCE, visible (1, 0) / infrared (0, 1) / fused (1, 1);
# Adam 1e-4, batch 16 (Section 4.1). The best checkpoint by validation
# exact-match accuracy is kept; stage 2 loads it.
_base_ = [
    '_base_/default_runtime.py',
    '_base_/schedules/adam_1e-4.py',
    '_base_/datasets/constraint_classifier.py',
]

model = dict(
    type='SemanticConstraintModel',
    classifier=dict(type='SemanticConstraintClassifier'),
    data_preprocessor=dict(type='FusionDataPreprocessor'))

# The paper gives no epoch count for the classifier; we train 20 epochs like
# stage 2 and keep the best epoch (docs/training.md).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_evaluator = dict(type='ClassifierAccuracyMetric', thr=0.5)
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=1,
        save_best='constraint/accuracy', rule='greater'))
# BatchNorm statistics recomputed over 60 training batches before every
# validation: the running averages lag the weights, and the best-epoch
# choice read them (docs/training.md, "Classifier: BatchNorm statistics
# and length")
custom_hooks = [dict(type='PreciseBNHook', num_batches=60)]
