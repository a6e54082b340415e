"""The schedule tools/train_all.py runs: lengths fitted to a budget, the
configs written from them, plans kept across restarts
(msfam_mm.apis.training_plan)."""
import json

import pytest

from msfam_mm.apis import training_plan as tp

STEPS = dict(classifier=dict(step_s=0.5, compile_s=20.0),
             stage1=dict(step_s=2.0, compile_s=60.0),
             stage2=dict(step_s=4.0, compile_s=60.0))
LENGTHS = dict(classifier=dict(iters=3000, val_interval=500),
               stage1=dict(iters=10090, val_interval=None),
               stage2=dict(iters=1000, val_interval=100))
VAL_S = dict(classifier=10.0, stage2=30.0)


def _plan(minutes, **kw):
    return tp.fit_plan('cross', minutes, STEPS, VAL_S, 'cpu', LENGTHS, **kw)


def test_the_paper_schedule_when_it_fits():
    # work 3000*0.5 + 10090*2 + 1000*4 = 25680 s; fixed: compiles 140 s,
    # 6 classifier validations * 10 s + 10 stage-2 validations * 30 s = 360
    plan = _plan(26180 / 60)
    assert plan['scale'] == 1.0
    for name, length in LENGTHS.items():
        entry = plan['trainings'][name]
        assert entry['iters'] == length['iters']
        assert entry['val_interval'] == length['val_interval']
        assert not entry['short_schedule']
    assert plan['estimate_s'] == pytest.approx(26180)


def test_a_short_budget_shortens_every_training_by_one_factor():
    # 6000 s less the 500 s fixed (compiles 140, validations 360), over
    # the 25680 s of updates
    plan = _plan(100)
    scale = (6000 - 500) / 25680
    assert plan['scale'] == pytest.approx(scale, abs=1e-4)
    t = plan['trainings']
    assert t['stage1']['iters'] == int(10090 * scale)  # 2161
    assert t['classifier']['iters'] == int(3000 * scale)  # 642
    assert t['stage2']['iters'] == int(1000 * scale)  # 214
    assert all(e['short_schedule'] for e in t.values())
    # as many validations as the paper's schedule: 6 and 10
    assert t['classifier']['val_interval'] == -(-642 // 6)  # 107
    assert t['stage2']['val_interval'] == -(-214 // 10)  # 22
    assert t['stage1']['val_interval'] is None
    # the estimate: compiles 140 s, updates 642 * 0.5 + 2161 * 2 + 214 * 4
    # = 5499 s, validations 6 * 10 + 9 * 30 = 330 s (214 // 22 = 9)
    assert plan['estimate_s'] == pytest.approx(5969)
    assert plan['estimate_s'] <= 100 * 60


def test_minimum_length_and_cap():
    plan = _plan(8)  # 480 s: less than the 500 s of compiles and validations
    assert plan['scale'] == 0.0
    assert {e['iters'] for e in plan['trainings'].values()} == {
        tp.MIN_ITERS}
    capped = _plan(1000, max_iters=2)
    assert {e['iters'] for e in capped['trainings'].values()} == {2}


def test_bad_plans_are_refused():
    with pytest.raises(tp.PlanError, match="unknown protocol 'tno'"):
        tp.fit_plan('tno', 10, STEPS, VAL_S, 'cpu', LENGTHS)
    with pytest.raises(tp.PlanError, match='budget must be positive'):
        _plan(0)
    with pytest.raises(tp.PlanError, match=r"no step times for \['stage2'\]"):
        tp.fit_plan('cross', 10, {k: v for k, v in STEPS.items()
                                  if k != 'stage2'}, VAL_S, 'cpu', LENGTHS)


def test_stage_config_of_a_short_schedule(tmp_path, repo_root,
                                          monkeypatch):
    monkeypatch.chdir(repo_root)
    plan = _plan(100)
    work_dirs = {t: str(tmp_path / t) for t in tp.TRAININGS}
    handed = dict(classifier='c.pth', stage1='s1.pth')
    cfg = tp.stage_overrides('stage2', plan['trainings']['stage2'],
                             work_dirs, handed)
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=214,
                                 val_interval=22)
    assert cfg.optim_wrapper.optimizer.lr == tp.SHORT_LR
    assert cfg.param_scheduler[0]['T_max'] == 214
    assert cfg.model.stage1_checkpoint == 's1.pth'
    assert cfg.model.classifier_checkpoint == 'c.pth'
    assert cfg.work_dir == work_dirs['stage2']
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert hooks == ['FreezeCheckHook', 'CompileHook']
    assert cfg.default_hooks.checkpoint.save_best == 'fusion/balanced'
    # checkpoints at every validation (22 updates, under 10 minutes here)
    assert cfg.default_hooks.checkpoint.interval == 22
    eager = tp.stage_overrides('stage1', plan['trainings']['stage1'],
                               work_dirs, handed, eager=True)
    assert [h['type'] for h in eager.custom_hooks] == []
    # no validation: every 10 minutes of 2 s updates
    assert eager.default_hooks.checkpoint.interval == 10 * 60 // 2
    # the written config reads back the same
    path = tmp_path / 'stage2.py'
    tp.write_stage_config(cfg, str(path))
    from mmengine.config import Config
    assert Config.fromfile(str(path)).train_cfg.max_iters == 214


def test_the_paper_schedule_keeps_the_paper_rate(repo_root, monkeypatch,
                                                 tmp_path):
    monkeypatch.chdir(repo_root)
    plan = tp.fit_plan('paper', 10 ** 6, STEPS, VAL_S, 'cuda', LENGTHS)
    cfg = tp.stage_overrides('stage1', plan['trainings']['stage1'],
                             {t: str(tmp_path) for t in tp.TRAININGS}, {})
    assert cfg.optim_wrapper.optimizer.lr == 1e-4  # Section 4.1
    assert cfg.param_scheduler == []
    assert cfg.train_cfg.max_iters == 10090


def test_plans_are_kept_and_checked(tmp_path):
    path = tmp_path / 'plan.json'
    assert tp.load_plan(str(path)) is None
    plan = _plan(100)
    tp.save_plan(plan, str(path))
    assert tp.load_plan(str(path)) == json.loads(json.dumps(plan))
    path.write_text('{"trainings": {"stage1": {}}}')
    with pytest.raises(tp.PlanError, match='not a train_all plan'):
        tp.load_plan(str(path))
    path.write_text('{')
    with pytest.raises(tp.PlanError, match='unreadable plan'):
        tp.load_plan(str(path))


def test_format_plan_names_every_training():
    text = tp.format_plan(_plan(100))
    for name in tp.TRAININGS:
        assert name in text
    assert 'shortened: Adam 1e-3, cosine' in text


def test_paper_length_of_an_epoch_based_config(repo_root, tno42,
                                               monkeypatch):
    """The paper's stage 2: 20 epochs of the 237 training pairs at batch 4
    are 20 x ceil(237 / 4) = 1200 updates, validated every epoch (60); the
    dataset is built without leaving a default scope behind."""
    from mmengine.registry import DefaultScope
    monkeypatch.chdir(repo_root)
    cfg = tp.load_config('configs/msfam_stage2.py', str(tno42.parent))
    assert tp.paper_length(cfg) == dict(iters=1200, val_interval=60)
    assert DefaultScope.get_current_instance() is None


def test_stage2_variants_are_counted_in_the_budget():
    """Each variant is one more stage 2 (1000 updates of 4 s, its compile
    and 10 validations of 30 s): the paper's schedule with one variant
    needs 25680 + 4000 s of updates and 500 + 60 + 300 s fixed."""
    needed = (25680 + 4000 + 500 + 60 + 300) / 60  # 509 minutes
    plan = _plan(needed, stage2_variants=['pull_push_only'])
    assert plan['scale'] == 1.0
    assert plan['stage2_variants'] == ['pull_push_only']
    assert plan['estimate_s'] == pytest.approx(needed * 60)
    # one stage 2's estimate: 60 + 4000 + 300
    assert plan['trainings']['stage2']['estimate_s'] == pytest.approx(4360)
    assert _plan(needed - 1, stage2_variants=['pull_push_only'])[
        'scale'] < 1.0
    assert _plan(needed - 1)['scale'] == 1.0
    with pytest.raises(tp.PlanError, match="unknown stage-2 variant 'l2'"):
        _plan(100, stage2_variants=['l2'])


def test_stage2_variant_configs_change_one_loss_choice(tmp_path, repo_root,
                                                       monkeypatch):
    """Built from the cross stage 2: alpha_2 = 0 (no Semantic Constraint)
    or the Pull-Push weights of Section 3.6's text; nothing else moves."""
    from msfam_mm.models.losses import FusionLoss
    monkeypatch.chdir(repo_root)
    plan = _plan(100, stage2_variants=list(tp.STAGE2_VARIANTS))
    handed = dict(classifier='c.pth', stage1='s1.pth')
    work_dirs = {t: str(tmp_path / t) for t in tp.TRAININGS}
    planned = tp.stage_overrides('stage2', plan['trainings']['stage2'],
                                 work_dirs, handed)
    losses = {}
    for variant in tp.STAGE2_VARIANTS:
        cfg = tp.stage_overrides('stage2', plan['trainings']['stage2'],
                                 work_dirs, handed)
        cfg.merge_from_dict(tp.variant_overrides(variant))
        assert cfg.train_cfg == planned.train_cfg
        assert cfg.model.stage1_checkpoint == 's1.pth'
        loss_cfg = dict(cfg.model.loss)
        loss_cfg.pop('type')
        losses[variant] = FusionLoss(**loss_cfg)
    loss_cfg = dict(planned.model.loss)
    loss_cfg.pop('type')
    full = FusionLoss(**loss_cfg)
    assert full.constraint_weight == pytest.approx(0.84)  # Eq. 2
    assert losses['pull_push_only'].constraint_weight == 0.0
    assert losses['as_described'].constraint_weight == pytest.approx(0.84)
    directions = {k: v.pull_push.direction for k, v in losses.items()}
    assert full.pull_push.direction == 'as_written'
    assert directions == dict(pull_push_only='as_written',
                              as_described='as_described')
    assert tp.run_name() == 'stage2'
    assert tp.run_name('as_described') == 'stage2-as_described'
    text = tp.format_plan(plan)
    assert "stage2-pull_push_only as stage2, with " \
        "model.loss.constraint_weight=0.0" in text
    assert 'best validation score is handed on' in text


def test_best_validation_score_is_read_from_a_best_checkpoint(tmp_path):
    import torch
    best = tmp_path / 'best_fusion_balanced_iter_56.pth'
    torch.save(dict(meta=dict(iter=56), state_dict={},
                    message_hub=dict(runtime_info=dict(best_score=0.412))),
               best)
    assert tp.best_validation_score(str(best)) == (pytest.approx(0.412), 56)
    last = tmp_path / 'iter_100.pth'
    torch.save(dict(meta=dict(iter=100), state_dict={},
                    message_hub=dict(runtime_info=dict())), last)
    with pytest.raises(tp.PlanError, match='no best validation score'):
        tp.best_validation_score(str(last))
