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
    assert train_all.main(args + ['--stage2-variants',
                                  'pull_push_only']) == 0
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
    # the variant: the same stage 2 without the Semantic Constraint
    variant = json.loads((work / 'stage2-pull_push_only' / 'done.json'
                          ).read_text())
    assert 'best_fusion_balanced_iter_' in variant['checkpoint']
    variant_cfg = (work / 'configs' / 'stage2-pull_push_only.py'
                   ).read_text()
    assert 'constraint_weight=0.0' in variant_cfg
    assert done['stage1']['checkpoint'] in variant_cfg
    summary = json.loads((work / 'summary.json').read_text())
    selection = summary['stage2_selection']
    assert selection['key'] == 'fusion/balanced'
    assert set(selection['scores']) == {'stage2', 'stage2-pull_push_only'}
    chosen = selection['chosen']
    assert selection['scores'][chosen]['score'] == max(
        s['score'] for s in selection['scores'].values())
    other = ({'stage2', 'stage2-pull_push_only'} - {chosen}).pop()
    other_label = train_all.run_label(other)
    # the chosen run ships under the protocol's name, the other under its
    # own, and is an ablation row of the report
    assert (work / 'export' / 'msfam_cross_stage2_fp16.pth').is_file()
    assert (work / 'export' / 'msfam_cross_classifier_fp16.pth').is_file()
    assert (work / 'export' /
            f'msfam_cross_{other_label}_stage2_fp16.pth').is_file()
    report = (work / 'report' / 'cross.md').read_text()
    assert 'TNO-42' in report and 'SeAFusion' in report
    # the model the report scores is the chosen run's best checkpoint
    header = next(line for line in report.splitlines() if 'Model: `' in line)
    assert f'/{chosen}/best_fusion_balanced_iter_' in header
    ablations = report.split('## Ablations on TNO-42', 1)[1]
    assert f'\n| {other_label} | ' in ablations
    assert set(summary['seconds']) >= {'classifier', 'stage1', 'stage2',
                                       'stage2-pull_push_only', 'export',
                                       'report'}
    capsys.readouterr()
    assert train_all.main(args + ['--skip-report']) == 0
    out = capsys.readouterr().out
    assert 'resuming the plan' in out
    for name in ('classifier', 'stage1', 'stage2', 'stage2-pull_push_only'):
        assert f'{name} done earlier' in out


def test_interrupted_training_time_is_counted(tmp_path, load_tool):
    """A training a stopped session cut short counts from its start to its
    log's last line, added to what earlier sessions counted."""
    import os
    for name, end in (('stage1', 1000.0), ('stage2-as_described', 2500.0)):
        log = tmp_path / name / '20261202_000000' / '20261202_000000.log'
        log.parent.mkdir(parents=True)
        log.write_text('Iter(train) [10/5636]\n')
        os.utime(log, (end, end))
    # the variant was running, then dropped from the plan: still counted
    summary = dict(seconds=dict(stage1=50.0), running={
        'stage1': 900.0, 'stage2-as_described': 2000.0})
    load_tool('train_all').count_interrupted(summary, str(tmp_path))
    assert summary == dict(seconds={'stage1': 150.0,
                                    'stage2-as_described': 500.0})


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


def test_variants_added_to_a_resumed_plan(tmp_path, load_tool, tno42,
                                          capsys):
    """A plan made without variants takes them on resume: they run after
    stage 2 (here: would run, --dry-run), one config each."""
    from msfam_mm.apis import training_plan as tp
    work = tmp_path / 'run'
    work.mkdir()
    steps = {t: dict(step_s=1.0, compile_s=0.0) for t in tp.TRAININGS}
    lengths = {t: dict(iters=1000, val_interval=100) for t in tp.TRAININGS}
    plan = tp.fit_plan('cross', 1, steps, {}, 'cpu', lengths)
    tp.save_plan(plan, str(work / 'plan.json'))
    # one more stage 2 on top of the three trainings' estimate
    estimate = (plan['estimate_s'] +
                plan['trainings']['stage2']['estimate_s']) / 60
    rc = load_tool('train_all').main([
        '--dry-run', '--stage2-variants', 'as_described', '--data-root',
        str(tno42.parent), '--work-dir', str(work)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "stage-2 variants now ['as_described']; estimate " \
        f"{estimate:.1f} min" in out
    assert "over the plan's budget of 1" in out
    assert 'stage2-as_described as stage2, with ' \
        "model.loss.pull_push.direction='as_described'" in out
    assert 'configs/stage2-as_described.py --amp' in out
    # a dry run keeps the plan as it was
    assert tp.load_plan(str(work / 'plan.json'))['stage2_variants'] == []


def test_the_stage2_run_with_the_best_validation_score_is_chosen(
        tmp_path, load_tool):
    import torch
    train_all = load_tool('train_all')
    (tmp_path / 'configs').mkdir()
    config = tmp_path / 'configs' / 'stage2.py'

    def write_config(rule):
        config.write_text(
            'default_hooks = dict(checkpoint=dict(type="CheckpointHook", '
            f'save_best="fusion/balanced", rule="{rule}"))\n')

    handed = {}
    for name, score, it in (('stage2', 0.40, 56),
                            ('stage2-pull_push_only', 0.45, 112),
                            ('stage2-as_described', 0.38, 168)):
        handed[name] = str(tmp_path / f'{name}.pth')
        torch.save(dict(meta=dict(iter=it), message_hub=dict(
            runtime_info=dict(best_score=score))), handed[name])
    variants = ['pull_push_only', 'as_described']
    write_config('greater')
    summary = {}
    assert train_all.choose_stage2(summary, handed, variants,
                                   str(tmp_path)) == 'stage2-pull_push_only'
    assert summary['stage2_selection']['scores']['stage2'] == dict(
        score=pytest.approx(0.40), iter=56)
    write_config('less')
    assert train_all.choose_stage2({}, handed, variants,
                                   str(tmp_path)) == 'stage2-as_described'
    # a run without a best score (no finite validation) is passed over
    torch.save(dict(meta=dict(iter=200), message_hub=dict(
        runtime_info=dict())), handed['stage2-as_described'])
    assert train_all.choose_stage2({}, handed, variants,
                                   str(tmp_path)) == 'stage2'
    write_config('None')
    with pytest.raises(SystemExit, match="rule 'None'"):
        train_all.choose_stage2({}, handed, variants, str(tmp_path))
    # without variants the planned stage 2, nothing read, and an earlier
    # selection is dropped from the summary
    summary = dict(stage2_selection=dict(chosen='stage2-as_described'))
    assert train_all.choose_stage2(summary, {}, [], str(tmp_path)) == \
        'stage2'
    assert summary == {}
    assert train_all.run_label('stage2') == 'full_loss'
    assert train_all.run_label('stage2-as_described') == 'as_described'


@pytest.mark.parametrize('argv, message', [
    (['--stage2-variants', 'l2'], "invalid choice: 'l2'"),
    (['--stage2-variants', 'as_described', 'as_described'],
     'a name given twice'),
    (['--protocol', 'paper', '--stage2-variants', 'pull_push_only'],
     'validation images are its test split'),
])
def test_bad_stage2_variants_are_refused_before_anything_runs(
        argv, message, load_tool, capsys):
    with pytest.raises(SystemExit):
        load_tool('train_all').parse_args(argv)
    assert message in capsys.readouterr().err
