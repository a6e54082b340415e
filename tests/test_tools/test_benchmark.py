"""tools/benchmark.py --train-step: the training-step timing behind the CPU
schedules runs both stages in every precision and reports them as JSON."""
import json


def test_train_step_reports_both_stages_and_precisions(tmp_path, repo_root,
                                                       load_tool):
    benchmark = load_tool('benchmark')
    out = tmp_path / 'bench.json'
    rc = benchmark.main([
        '--config', str(repo_root / 'configs' / 'msfam_stage2.py'),
        '--stage1-config', str(repo_root / 'configs' / 'msfam_stage1.py'),
        '--train-step', '1', '32', '32', '--precision', 'fp32', 'bf16',
        '--repeats', '1', '--warmup', '0', '--out', str(out)])
    assert rc == 0
    result = json.loads(out.read_text())
    steps = result['train_step']
    assert steps['batch_h_w'] == [1, 32, 32]
    for stage in ('stage1', 'stage2'):
        prec = steps[stage]['precisions']
        assert set(prec) == {'fp32', 'bf16'}
        assert prec['fp32']['step_s_median'] > 0
        assert prec['bf16']['speedup_vs_fp32'] > 0
    assert 'methods' in result and not result['methods']  # no inference run
