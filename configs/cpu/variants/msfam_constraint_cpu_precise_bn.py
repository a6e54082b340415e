# The shipped classifier's recipe (configs/cpu/msfam_constraint_cpu.py) with
# the BatchNorm statistics recomputed over 60 training batches before every
# validation (PreciseBNHook, as the paper config does): the running
# averages of training lag the weights, so the validation, and the choice
# of the best checkpoint, read statistics the weights never had
# (docs/training.md, "Classifier: BatchNorm statistics and length").
_base_ = ['../msfam_constraint_cpu.py']

custom_hooks = [dict(type='PreciseBNHook', num_batches=60)]
