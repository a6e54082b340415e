"""tools/train_all.py: classifier -> stage 1 -> stage 2 -> export -> TNO-42
scores in one command, resumed where it stopped."""
import json

import pytest


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, load_tool,
                                                    tno42, capsys):
    steps = tmp_path / 'steps.json'
    steps.write_text(json.dumps(dict(train_step={
        name: dict(variants={'compile:bf16': dict(step_s_median=s,
                                                  first_step_s=10.0)})
        for name, s in (('classifier', 0.5), ('stage1', 2.0),
                        ('stage2', 4.0))})))
    work = tmp_path / 'run'
    rc = load_tool('train_all').main([
        '--protocol', 'cross', '--budget-minutes', '60', '--dry-run',
        '--step-times', str(steps), '--data-root', str(tno42.parent),
        '--work-dir', str(work)])
    assert rc == 0
    out = capsys.readouterr().out
    assert 'protocol cross on cpu, budget 60.0 min' in out
    for name in ('classifier', 'stage1', 'stage2'):
        assert f'configs/{name}.py --amp' in out
    assert not (work / 'plan.json').exists()
    assert not (work / 'configs').exists()


def test_step_times_without_the_variant_are_refused(tmp_path, load_tool):
    steps = tmp_path / 'steps.json'
    steps.write_text(json.dumps(dict(train_step={})))
    with pytest.raises(SystemExit, match='no compile timing of classifier'):
        load_tool('train_all').main(['--step-times', str(steps),
                                     '--dry-run', '--work-dir',
                                     str(tmp_path / 'run')])


@pytest.mark.slow
def test_smoke_run_end_to_end_then_resume(tmp_path, load_tool, tno42,
                                          tno42_fusions, kaist_sample,
                                          roadscene221, capsys):
    """Two eager updates per training on the real data (about 3 minutes):
    every stage hands its checkpoint on, the export and the TNO-42 report
    are written; a second start retrains nothing."""
    train_all = load_tool('train_all')
    work = tmp_path / 'run'
    args = ['--protocol', 'cross', '--smoke', '--data-root',
            str(tno42.parent), '--work-dir', str(work)]
    assert train_all.main(args) == 0
    plan = json.loads((work / 'plan.json').read_text())
    assert {t['iters'] for t in plan['trainings'].values()} == {2}
    done = {name: json.loads((work / name / 'done.json').read_text())
            for name in ('classifier', 'stage1', 'stage2')}
    assert done['classifier']['checkpoint'].endswith(
        'best_constraint_accuracy_iter_2.pth')
    assert done['stage1']['checkpoint'].endswith('iter_2.pth')
    assert 'best_fusion_balanced_iter_' in done['stage2']['checkpoint']
    # stage 2 trained from the other two runs' checkpoints
    stage2_cfg = (work / 'configs' / 'stage2.py').read_text()
    assert done['stage1']['checkpoint'] in stage2_cfg
    assert done['classifier']['checkpoint'] in stage2_cfg
    assert (work / 'export' / 'msfam_cross_stage2_fp16.pth').is_file()
    assert (work / 'export' / 'msfam_cross_classifier_fp16.pth').is_file()
    report = (work / 'report' / 'cross.md').read_text()
    assert 'TNO-42' in report and 'SeAFusion' in report
    summary = json.loads((work / 'summary.json').read_text())
    assert set(summary['seconds']) >= {'classifier', 'stage1', 'stage2',
                                       'export', 'report'}
    capsys.readouterr()
    assert train_all.main(args + ['--skip-report']) == 0
    out = capsys.readouterr().out
    assert 'resuming the plan' in out
    for name in ('classifier', 'stage1', 'stage2'):
        assert f'{name} done earlier' in out


def test_interrupted_training_time_is_counted(tmp_path, load_tool):
    """A training a stopped session cut short counts from its start to its
    log's last line, added to what earlier sessions counted."""
    import os
    log = tmp_path / 'stage1' / '20261202_000000' / '20261202_000000.log'
    log.parent.mkdir(parents=True)
    log.write_text('Iter(train) [10/5636]\n')
    os.utime(log, (1000.0, 1000.0))
    summary = dict(seconds=dict(stage1=50.0), running=dict(stage1=900.0))
    load_tool('train_all').count_interrupted(
        summary, dict(stage1=str(tmp_path / 'stage1')))
    assert summary == dict(seconds=dict(stage1=150.0))


def test_each_training_hands_on_the_checkpoint_its_config_selects(
        load_tool, repo_root):
    """The best checkpoint by the config's own validation key (the paper's
    stage 2 selects by MS-SSIM, the cross one by fusion/balanced), the last
    one without validation."""
    from mmengine.config import Config
    handed_on = load_tool('train_all').handed_on

    def pattern(path):
        return handed_on(Config.fromfile(str(repo_root / 'configs' / path)))

    assert pattern('msfam_stage2.py') == 'best_fusion_MS_SSIM_iter_*.pth'
    assert pattern('cross/msfam_stage2_cross.py') == \
        'best_fusion_balanced_iter_*.pth'
    assert pattern('cross/msfam_constraint_cross.py') == \
        'best_constraint_accuracy_iter_*.pth'
    assert pattern('cross/msfam_stage1_cross.py') == 'iter_*.pth'
