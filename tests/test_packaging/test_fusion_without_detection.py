"""The fusion core needs torch and mmengine only: ``import msfam_mm``, the
shipped MSFAM fuser, the fusion configs' models and a stage-1 training step
run in a fresh interpreter without importing MMDetection or mmcv, and still
run when both are made unimportable (a fusion-only install)."""
import json
import subprocess
import sys

import pytest

# Run in a fresh interpreter: this test session has imported mmdet already.
SCRIPT = r'''
import importlib.abc
import json
import runpy
import sys

BLOCK = sys.argv[1] == 'block'
if BLOCK:
    class FusionOnlyEnvironment(importlib.abc.MetaPathFinder):
        """Import hook that makes mmdet and mmcv unimportable."""

        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in ('mmdet', 'mmcv'):
                raise ModuleNotFoundError(
                    f'No module named {name!r} (fusion-only test)', name=name)
            return None

    sys.meta_path.insert(0, FusionOnlyEnvironment())

import numpy as np
import mmengine
from mmengine.config import Config
from mmengine.registry import init_default_scope

import msfam_mm
from msfam_mm.apis import build_fuser
from msfam_mm import registry

report = {}

# the shipped MSFAM weights fuse a generated pair: a textured visible frame
# and an infrared frame that is dark except for one hot 16x16 target
yy, xx = np.mgrid[0:64, 0:80]
vis = (40 + 2 * xx + 20 * ((yy // 8 + xx // 8) % 2)).astype(np.uint8)
ir = np.full((64, 80), 30, np.uint8)
ir[24:40, 32:48] = 220
fused = build_fuser('msfam', device='cpu')(vis, ir)
ring = np.zeros((64, 80), bool)
ring[16:48, 24:56] = True
ring[24:40, 32:48] = False
report['fused'] = dict(shape=list(fused.shape), dtype=str(fused.dtype),
                       target=float(fused[24:40, 32:48].mean()),
                       around=float(fused[ring].mean()))

# the three trainings' models build through the registry, in their scope
report['models'] = {}
for name in ('msfam_stage1', 'msfam_stage2', 'msfam_constraint'):
    cfg = Config.fromfile(f'configs/{name}.py')
    init_default_scope(cfg.default_scope)
    report['models'][name] = [cfg.default_scope,
                              type(registry.MODELS.build(cfg.model)).__name__]

# mmengine's own classes resolve through msfam_mm's child registries
from mmengine.dataset import ConcatDataset, DefaultSampler, pseudo_collate
from mmengine.hooks import CheckpointHook
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner import LogProcessor
from mmengine.visualization import LocalVisBackend
import torch
expected = [(registry.HOOKS, 'CheckpointHook', CheckpointHook),
            (registry.DATA_SAMPLERS, 'DefaultSampler', DefaultSampler),
            (registry.FUNCTIONS, 'pseudo_collate', pseudo_collate),
            (registry.DATASETS, 'ConcatDataset', ConcatDataset),
            (registry.OPTIM_WRAPPERS, 'OptimWrapper', OptimWrapper),
            (registry.OPTIM_WRAPPERS, 'AmpOptimWrapper', AmpOptimWrapper),
            (registry.OPTIMIZERS, 'Adam', torch.optim.Adam),
            (registry.VISBACKENDS, 'LocalVisBackend', LocalVisBackend),
            (registry.LOG_PROCESSORS, 'LogProcessor', LogProcessor)]
report['resolved'] = {name: reg.get(name) is cls
                      for reg, name, cls in expected}

if len(sys.argv) > 2:  # one stage-1 iteration through tools/train.py
    data_root, work_dir = sys.argv[2:4]
    sys.argv = ['tools/train.py', 'configs/msfam_stage1.py',
                '--data-root', data_root, '--work-dir', work_dir,
                '--cfg-options', 'train_cfg.max_iters=1',
                'train_dataloader.batch_size=1',
                'train_dataloader.num_workers=0',
                'train_dataloader.persistent_workers=False',
                'default_hooks.checkpoint.interval=1']
    runpy.run_path('tools/train.py', run_name='__main__')

report['loaded'] = sorted(m for m in sys.modules
                          if m.split('.')[0] in ('mmdet', 'mmcv'))
print('REPORT ' + json.dumps(report))
'''


def run_fusion_path(repo_root, *args):
    proc = subprocess.run([sys.executable, '-c', SCRIPT, *map(str, args)],
                          cwd=repo_root, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [ln for ln in proc.stdout.splitlines()
            if ln.startswith('REPORT ')][-1]
    return json.loads(line[len('REPORT '):]), proc.stdout + proc.stderr


def check_report(report):
    fused = report['fused']
    assert fused['shape'] == [64, 80] and fused['dtype'] == 'uint8'
    # the infrared target (220 on 30) stays clearly brighter than the
    # surroundings it was pasted into
    assert fused['target'] > fused['around'] + 40, fused
    assert report['models'] == {
        'msfam_stage1': ['msfam_mm', 'MSFAMReconstructor'],
        'msfam_stage2': ['msfam_mm', 'MSFAMFusion'],
        'msfam_constraint': ['msfam_mm', 'SemanticConstraintModel'],
    }
    assert all(report['resolved'].values()), report['resolved']


def test_fusion_path_imports_neither_mmdet_nor_mmcv(repo_root):
    """In the full environment (mmdet and mmcv installed) the fusion path
    leaves both unimported."""
    report, _ = run_fusion_path(repo_root, 'plain')
    check_report(report)
    assert report['loaded'] == []


@pytest.mark.slow
def test_fusion_training_runs_without_mmdet_and_mmcv(repo_root, tno42,
                                                     roadscene221, tmp_path):
    """With mmdet and mmcv unimportable, as after ``pip install -e .``,
    the same path and one stage-1 iteration of tools/train.py still run in
    the configs' msfam_mm scope (mmengine finds a registry of that scope for
    everything it builds)."""
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'tno42').symlink_to(tno42)
    (data / 'roadscene221').symlink_to(roadscene221)
    work = tmp_path / 'work'
    report, log = run_fusion_path(repo_root, 'block', data, work)
    check_report(report)
    assert report['loaded'] == []
    assert (work / 'iter_1.pth').is_file()
    assert 'Failed to search registry' not in log
