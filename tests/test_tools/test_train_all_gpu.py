"""tools/train_all_gpu.sh, the prepared one-call run on a GPU machine,
run here with a stand-in for python: it records every call and leaves what
tools/train_all.py leaves in its work dir. Checks the command the script
builds (parsed by train_all's own parser), what it copies back and its
exit status, without a GPU or a training."""
import json
import os
import subprocess
import sys

STAND_IN = '''#!{python}
import json, os, sys
with open(os.environ['CALLS'], 'a') as f:
    f.write(json.dumps(sys.argv[1:]) + '\\n')
if sys.argv[1:3] == ['-m', 'pip']:
    sys.exit(0)
work = sys.argv[sys.argv.index('--work-dir') + 1]
os.makedirs(os.path.join(work, 'export'), exist_ok=True)
for name in ('plan.json', 'summary.json', 'export/msfam_cross_stage2_fp16.pth',
             'export/msfam_cross_full_loss_stage2_fp16.pth'):
    with open(os.path.join(work, name), 'w') as f:
        f.write(name)
print('train_all: done')
sys.exit(int(os.environ.get('STAND_IN_RC', '0')))
'''


def run_script(repo_root, tmp_path, **env):
    python = tmp_path / 'python'
    python.write_text(STAND_IN.format(python=sys.executable))
    python.chmod(0o755)
    out = tmp_path / 'out'
    out.mkdir()
    calls = tmp_path / 'calls.jsonl'
    full_env = dict(os.environ, OUT=str(out), PYTHON=str(python),
                    CALLS=str(calls), WORK=str(tmp_path / 'work'),
                    SITE=str(tmp_path / 'site'), **env)
    proc = subprocess.run(['bash', str(repo_root / 'tools' /
                                       'train_all_gpu.sh')],
                          env=full_env, capture_output=True, text=True)
    lines = calls.read_text().splitlines()
    return proc, out, [json.loads(line) for line in lines]


def train_all_argv(calls):
    (argv, ) = [c for c in calls if c[:1] == ['tools/train_all.py']]
    return argv[1:]


def test_default_call_runs_both_variants_and_copies_back(repo_root,
                                                         tmp_path,
                                                         load_tool):
    proc, out, calls = run_script(repo_root, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert calls[0][:3] == ['-m', 'pip', 'install']
    argv = train_all_argv(calls)
    args = load_tool('train_all').parse_args(argv)
    assert (args.protocol, args.device, args.budget_minutes) == (
        'cross', 'cuda', 6.0)
    assert args.stage2_variants == ['pull_push_only', 'as_described']
    assert args.skip_report and args.data_root == 'data/'
    # the plan, the times, every export and the log come back
    assert sorted(p.name for p in out.iterdir()) == [
        'msfam_cross_full_loss_stage2_fp16.pth',
        'msfam_cross_stage2_fp16.pth', 'plan.json', 'summary.json',
        'train_all.log']
    assert 'train_all: done' in (out / 'train_all.log').read_text()


def test_no_variants_budget_and_extra_options(repo_root, tmp_path,
                                              load_tool):
    proc, _, calls = run_script(repo_root, tmp_path, VARIANTS='',
                                BUDGET='9', EXTRA='--max-iters 3')
    assert proc.returncode == 0, proc.stderr
    args = load_tool('train_all').parse_args(train_all_argv(calls))
    assert args.stage2_variants == []
    assert (args.budget_minutes, args.max_iters) == (9.0, 3)


def test_a_failed_run_still_copies_back_and_fails(repo_root, tmp_path):
    proc, out, _ = run_script(repo_root, tmp_path, STAND_IN_RC='3')
    assert proc.returncode == 3
    assert (out / 'summary.json').is_file()
    assert (out / 'train_all.log').is_file()
