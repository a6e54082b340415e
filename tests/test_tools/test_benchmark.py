"""tools/benchmark.py --train-step: eager against compiled training steps of
the three trainings, reported as JSON (msfam_mm.engine.train_step_timing)."""
import json

import pytest


def test_train_step_reports_every_stage_and_variant(tmp_path, repo_root,
                                                    load_tool):
    benchmark = load_tool('benchmark')
    out = tmp_path / 'bench.json'
    rc = benchmark.main([
        '--config', str(repo_root / 'configs' / 'msfam_stage2.py'),
        '--stage1-config', str(repo_root / 'configs' / 'msfam_stage1.py'),
        '--classifier-config',
        str(repo_root / 'configs' / 'msfam_constraint.py'),
        '--train-step', '3', '32', '32',
        '--train-variants', 'eager:fp32', 'eager:bf16',
        '--repeats', '1', '--warmup', '0', '--out', str(out)])
    assert rc == 0
    steps = json.loads(out.read_text())['train_step']
    assert steps['batch_h_w'] == [3, 32, 32]
    for stage in ('stage1', 'stage2', 'classifier'):
        variants = steps[stage]['variants']
        assert set(variants) == {'eager:fp32', 'eager:bf16'}
        ref, bf16 = variants['eager:fp32'], variants['eager:bf16']
        assert ref['finite'] and bf16['finite']
        assert ref['compiled'] == [] and ref['step_s_median'] > 0
        assert bf16['speedup_vs_eager:fp32'] > 0
        # same weights, same batch: bf16 moves the loss by little and
        # keeps the gradient's direction
        assert bf16['first_loss_diff_vs_eager:fp32'] < 0.01 * abs(
            ref['first_loss'])
        assert bf16['grad_cosine_vs_eager:fp32'] > 0.99


def test_malformed_training_variant_is_refused(load_tool):
    benchmark = load_tool('benchmark')
    with pytest.raises(SystemExit, match="'jit:bf16'"):
        benchmark.main(['--train-step', '1', '32', '32', '--train-variants',
                        'jit:bf16'])
