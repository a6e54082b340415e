"""Safe weights-only checkpoint loading and resuming with torch >= 2.6
(msfam_mm.engine.checkpoint_compat allow-lists mmengine's checkpoint
globals)."""
import os
import pickle
import subprocess
import sys
import uuid
import zipfile

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

import msfam_mm  # noqa: F401  (allow-lists mmengine's checkpoint globals)
from msfam_mm.utils import (disable_config_formatting, load_checkpoint_safe,
                            set_data_root)


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


class _Shell:
    """Pickles to os.system(cmd): what a malicious checkpoint contains."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd, ))


class _GetattrEscape:
    """Pickles to getattr(HistoryBuffer, name) for a non-statistics name."""

    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        return (getattr, (HistoryBuffer, self.name))


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _Shell(f'touch {marker}')}, path)
    with pytest.raises(RuntimeError, match='evil.pth'):
        load_checkpoint_safe(path)
    assert not marker.exists()
    # the plain torch.load that mmengine uses refuses it as well
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    assert not marker.exists()


def test_restricted_getattr_only_reaches_statistics(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'m': _GetattrEscape('__init__')}, path)
    with pytest.raises(RuntimeError, match='only HistoryBuffer statistics'):
        load_checkpoint_safe(path)
    ok = tmp_path / 'ok.pth'
    torch.save({'m': _GetattrEscape('mean')}, ok)
    assert load_checkpoint_safe(ok)['m'] is HistoryBuffer.mean


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        load_checkpoint_safe(tmp_path / 'absent.pth')
    bad = tmp_path / 'truncated.pth'
    bad.write_bytes(b'PK\x03\x04 not really a zip')
    with pytest.raises(RuntimeError, match='truncated.pth'):
        load_checkpoint_safe(bad)


class _RecordIters(Hook):
    def __init__(self):
        self.iters = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.iters.append(runner.iter)


def _stage1_cfg(repo_root, data_root, work_dir, max_iters):
    cfg = Config.fromfile(str(repo_root / 'configs' / 'msfam_stage1.py'))
    set_data_root(cfg, str(data_root))
    disable_config_formatting(cfg)  # yapf dominates short CPU runs
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'resume_{uuid.uuid4().hex[:8]}'
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_dataloader.dataset.pipeline[1]['crop_size'] = (32, 32)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.checkpoint.by_epoch = False
    cfg.log_processor = dict(by_epoch=False)
    return cfg


def test_real_checkpoint_resumes_from_saved_iteration(repo_root, data_root,
                                                      tmp_path):
    work = tmp_path / 'work'
    first = Runner.from_cfg(_stage1_cfg(repo_root, data_root, work, 2))
    first.train()
    ckpt = work / 'iter_2.pth'
    assert ckpt.is_file()
    # the checkpoint pickles HistoryBuffer objects (message_hub) ...
    with zipfile.ZipFile(ckpt) as zf:
        pkl = [n for n in zf.namelist() if n.endswith('data.pkl')]
        assert b'HistoryBuffer' in zf.read(pkl[0])
    # ... and every non-tensor global in it is allow-listed by msfam_mm
    assert torch.serialization.get_unsafe_globals_in_checkpoint(ckpt) == []
    saved = load_checkpoint_safe(ckpt)
    assert saved['meta']['iter'] == 2

    # resume (Runner -> mmengine -> torch.load with the default
    # weights_only=True) and train two more iterations
    cfg = _stage1_cfg(repo_root, data_root, work, 4)
    cfg.resume = True
    cfg.load_from = str(ckpt)
    recorder = _RecordIters()
    second = Runner.from_cfg(cfg)
    second.register_hook(recorder)
    second.train()
    # runner.iter is 0-based inside after_train_iter: iterations 3 and 4 ran
    assert recorder.iters == [2, 3]
    assert second.iter == 4
    # the Adam state was restored: its step count continued from 2
    state = second.optim_wrapper.optimizer.state
    steps = {float(s['step']) for s in state.values()}
    assert steps == {4.0}
    assert (work / 'iter_4.pth').is_file()


def test_resume_fails_without_the_allow_list(repo_root, tmp_path):
    """Demonstrates the bug the allow-list fixes (fresh interpreter)."""
    buf = HistoryBuffer()
    buf.update(1.0)
    path = tmp_path / 'hub.pth'
    torch.save({'message_hub': {'log_scalars': {'loss': buf}}}, path)
    code = ('import torch, sys\n'
            'try:\n'
            f'    torch.load({str(path)!r})\n'
            'except Exception as e:\n'
            '    print(type(e).__name__, e)\n'
            '    sys.exit(3)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 3, out.stdout + out.stderr
    assert 'HistoryBuffer' in out.stdout
    loaded = load_checkpoint_safe(path)
    assert loaded['message_hub']['log_scalars']['loss'].current() == 1.0
