"""tools/train.py and tools/dist_train.sh: bad input refused before anything
is built, and a 2-process gloo run of the shrunk stage-2 config."""
import os
import os.path as osp
import subprocess
import sys

import pytest

import msfam_mm  # noqa: F401  (registers everything)
from msfam_mm.utils import load_checkpoint_safe


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


def test_train_cli_refuses_bad_input_before_building_anything(
        load_tool, repo_root, capsys, tmp_path):
    """A missing config, a malformed --cfg-options item or a --resume file
    that does not exist is a usage error (exit 2) naming it, not a
    traceback after the Runner and datasets were built."""
    train = load_tool('train')
    stage1 = str(repo_root / 'configs' / 'msfam_stage1.py')
    cases = [
        ([str(tmp_path / 'nope.py')], "nope.py' does not exist"),
        ([stage1, '--cfg-options', 'foo'],
         '--cfg-options: expected KEY=VALUE'),
        ([stage1, '--resume', str(tmp_path / 'x.pth')],
         "--resume: checkpoint '"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            train.parse_args(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_two_process_gloo_stage2(repo_root, data_root, stage1_ckpt,
                                 classifier_ckpt, tmp_path, stage2_cfg):
    cfg = stage2_cfg(repo_root, tmp_path / 'work', data_root, stage1_ckpt,
                     classifier_ckpt)
    cfg_file = tmp_path / 'stage2_dist.py'
    cfg.dump(str(cfg_file))
    port = str(29500 + os.getpid() % 1000)
    env = dict(os.environ, OMP_NUM_THREADS='1', MASTER_PORT=port,
               PYTHON=sys.executable)
    out = subprocess.run(
        ['bash', str(repo_root / 'tools' / 'dist_train.sh'), str(cfg_file),
         '2'], cwd=repo_root, capture_output=True, text=True, timeout=900,
        env=env)
    log = out.stdout[-4000:] + out.stderr[-4000:]
    assert out.returncode == 0, log
    assert 'Iter(train) [2/2]' in out.stdout + out.stderr, log
    assert osp.isfile(tmp_path / 'work' / 'iter_2.pth')
    state = load_checkpoint_safe(tmp_path / 'work' / 'iter_2.pth')
    assert any(k.startswith('net.fusion_blocks.')
               for k in state['state_dict'])
