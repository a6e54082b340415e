# Runtime shared by the three MSFAM trainings (mmengine Runner).
# The msfam_mm scope: types resolve in msfam_mm's registries, then in
# mmengine's (hooks, samplers, optimisers, ...); MMDetection is not needed.
default_scope = 'msfam_mm'
custom_imports = dict(imports=['msfam_mm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py initialises gloo itself on CPU-only machines
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=True)
log_level = 'INFO'

# seed for python/numpy/torch and the samplers; deterministic=True also
# forces deterministic kernels (slower, and some CUDA ops have none)
randomness = dict(seed=0, deterministic=False)

load_from = None
resume = False
