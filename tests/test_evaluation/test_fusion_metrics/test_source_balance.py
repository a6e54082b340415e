"""The source-balance criterion (msfam_mm/evaluation/fusion_metrics/
source_balance.py) and ``FusionMetric(balanced=True)``: hand-checkable
values, an output that copies a source scores low, real published fusions
on TNO score high, and the key ``fusion/balanced`` a CheckpointHook keeps
the best model by."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from msfam_mm.evaluation.fusion_metrics import (FusionMetric, corr2,
                                                evaluate_fusion, ssim_index)
from msfam_mm.evaluation.fusion_metrics.source_balance import (
    BALANCE_KEYS, balance_from_values, copy_study, format_study,
    source_balance)

# a handful of TNO-42 pairs and published fusions (docs/metrics.md,
# "Model selection: fusion/balanced", has the table of these and of all 42)
STEMS = ['01', '05', '10', '20', '30']
METHODS = ['DenseFuse', 'SeAFusion', 'FusionGAN']
COPIES = ['output = ir', 'output = vis', '0.1 vis + 0.9 ir']


def _texture(seed: int, shape=(64, 80)) -> np.ndarray:
    """A smooth random 8-bit texture spanning 0..255."""
    rng = np.random.default_rng(seed)
    x = cv2.GaussianBlur(rng.random(shape), (0, 0), 2.0)
    x = (x - x.min()) / (x.max() - x.min())
    return np.rint(255 * x).astype(np.uint8)


# ----------------------------------------------------------- hand values ---
def test_identical_images_score_one():
    x = _texture(0)
    assert source_balance(x, x, x) == dict(balanced=1.0, share_V=1.0,
                                           share_I=1.0)


def test_formula_takes_the_worse_source():
    """share = (SSIM + CC) / 2 per source, balanced = the smaller one."""
    v_low = balance_from_values(dict(SSIM_V=0.4, CC_V=-0.2,
                                     SSIM_I=0.9, CC_I=0.7))
    assert v_low == pytest.approx(dict(balanced=0.1, share_V=0.1,
                                       share_I=0.8))
    i_low = balance_from_values(dict(SSIM_V=0.7, CC_V=0.5,
                                     SSIM_I=0.6, CC_I=0.2))
    assert i_low == pytest.approx(dict(balanced=0.4, share_V=0.6,
                                       share_I=0.4))
    with pytest.raises(KeyError, match=r"\['CC_V', 'CC_I'\].*"
                       r"metrics=SSIM,CC"):
        balance_from_values(dict(SSIM_V=1.0, SSIM_I=1.0))


def test_copy_of_one_source_scores_the_similarity_of_the_sources():
    """Output = ir with vis = 255 - ir: share_I = 1, CC(F, V) = -1 exactly,
    so balanced = (SSIM(ir, 255 - ir) - 1) / 2 < 0; copying vis instead
    gives the same by symmetry."""
    ir = _texture(1)
    vis = 255 - ir
    got = source_balance(ir, vis, ir)
    assert got['share_I'] == 1.0
    assert corr2(ir, vis) == pytest.approx(-1.0)
    assert got['balanced'] == got['share_V'] == pytest.approx(
        (ssim_index(ir, vis) - 1.0) / 2)
    assert got['balanced'] < 0
    swapped = source_balance(vis, vis, ir)
    assert swapped['share_V'] == 1.0
    assert swapped['balanced'] == pytest.approx(got['balanced'])


def test_more_of_the_missing_source_scores_higher():
    """Blends a vis + (1 - a) ir of two unrelated textures: the criterion
    rises from the copy (a = 0) to the even blend and is symmetric in
    which source is copied."""
    vis, ir = _texture(2).astype(float), _texture(3).astype(float)
    scores = {}
    for a in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0):
        fused = np.rint(a * vis + (1 - a) * ir).astype(np.uint8)
        scores[a] = source_balance(fused, vis.astype(np.uint8),
                                   ir.astype(np.uint8))['balanced']
    assert scores[0.0] < scores[0.1] < scores[0.25] < scores[0.5]
    assert scores[1.0] < scores[0.9] < scores[0.75] < scores[0.5]
    for a in (0.0, 0.1, 0.25):
        assert scores[a] == pytest.approx(scores[1 - a], abs=0.05)


# ------------------------------------------------------------- real TNO ---
@pytest.fixture(scope='module')
def study(tno42, tno42_fusions):
    return copy_study(tno42, tno42_fusions, METHODS, STEMS)


def test_copies_score_clearly_below_published_fusions(study):
    """On real TNO pairs: an output equal to either source, or 90 %
    infrared, scores at least 0.2 below every published fusion."""
    assert list(study) == COPIES + ['mean of both'] + METHODS
    assert all(row['pairs'] == len(STEMS) for row in study.values())
    worst_fusion = min(study[m]['balanced'] for m in METHODS)
    best_copy = max(study[c]['balanced'] for c in COPIES)
    assert best_copy + 0.2 < worst_fusion, format_study(study)
    # the copy keeps all of its own source and loses the other
    assert study['output = ir']['share_I'] == 1.0
    assert study['output = vis']['share_V'] == 1.0


def test_study_values_are_the_primitives_on_one_pair(tno42, tno42_fusions):
    """Output = ir on pair 05: (SSIM(vis, ir) + corr2(vis, ir)) / 2 from
    the SSIM and correlation functions themselves."""
    vis = cv2.imread(str(tno42 / 'vi' / '05.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '05.png'), cv2.IMREAD_GRAYSCALE)
    one = copy_study(tno42, tno42_fusions, [], ['05'])['output = ir']
    assert one['balanced'] == pytest.approx(
        (ssim_index(ir, vis) + corr2(ir, vis)) / 2, abs=1e-12)


def test_ranks_last_what_mutual_information_ranks_first(tno42,
                                                        tno42_fusions):
    """Why a new criterion: on pair 05 MI prefers the copy of the infrared
    image to DenseFuse's fusion; the balance criterion puts it far below."""
    read = lambda p: cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)  # noqa: E731
    vis, ir = read(tno42 / 'vi' / '05.png'), read(tno42 / 'ir' / '05.png')
    fused = read(tno42_fusions / 'DenseFuse' / '05.png')
    mi = {name: evaluate_fusion(f, vis, ir, metrics='MI')['MI']
          for name, f in (('copy', ir), ('fusion', fused))}
    assert mi['copy'] > mi['fusion']
    assert source_balance(ir, vis, ir)['balanced'] + 0.2 < \
        source_balance(fused, vis, ir)['balanced']


# ---------------------------------------------------------- FusionMetric ---
def _sample(fused, vis, ir, name='pair'):
    t = lambda x: torch.as_tensor(x, dtype=torch.float32)[None] / 255  # noqa
    return dict(fused=t(fused), vis=t(vis), ir=t(ir), name=name)


def test_fusion_metric_reports_the_criterion_per_image_mean():
    vis, ir = _texture(4), _texture(5)
    even = np.rint(0.5 * vis + 0.5 * ir).astype(np.uint8)
    metric = FusionMetric(metrics=['EN'], balanced=True)
    metric.process({}, [_sample(ir, vis, ir), _sample(even, vis, ir)])
    out = metric.compute_metrics(metric.results)
    # only what was asked: no SSIM or CC keys leak from the criterion
    assert list(out) == ['EN', *BALANCE_KEYS]
    # the fused output is min-max normalised first: even's range is not
    # 0..255, so score what the metric scores
    norm = lambda x: np.rint(  # noqa: E731
        255 * (x - x.min()) / (x.max() - x.min() + 0.0)).astype(np.uint8)
    want = [source_balance(norm(f.astype(float)), vis, ir)['balanced']
            for f in (ir, even)]
    assert out['balanced'] == pytest.approx(np.mean(want), abs=2e-3)
    assert want[0] + 0.2 < want[1]


def test_fusion_metric_balance_is_off_by_default_and_keeps_per_source():
    vis, ir = _texture(6), _texture(7)
    plain = FusionMetric(metrics=['CC'])
    plain.process({}, [_sample(ir, vis, ir)])
    assert list(plain.results[0]) == ['CC']
    both = FusionMetric(metrics=['CC'], per_source=True, balanced=True)
    both.process({}, [_sample(ir, vis, ir)])
    assert list(both.results[0]) == ['CC', 'CC_V', 'CC_I', *BALANCE_KEYS]


def test_an_affine_copy_of_a_source_is_still_a_copy():
    """The network's output is min-max normalised before scoring, so
    0.5 ir + 0.25 (as floats) scores as ir itself."""
    vis, ir = _texture(8), _texture(9)
    sample = _sample(ir, vis, ir)
    sample['fused'] = 0.5 * sample['fused'] + 0.25
    metric = FusionMetric(metrics=['CC'], balanced=True)
    metric.process({}, [sample])
    assert metric.results[0]['share_I'] == pytest.approx(1.0)
    assert metric.results[0]['balanced'] == pytest.approx(
        source_balance(ir, vis, ir)['balanced'])


@pytest.mark.usefixtures('msfam_mm_scope')
def test_evaluator_key_for_save_best():
    """A config's ``val_evaluator = dict(type='FusionMetric',
    balanced=True)`` gives ``fusion/balanced``, the key of
    ``CheckpointHook(save_best='fusion/balanced', rule='greater')``."""
    evaluator = Evaluator(dict(type='FusionMetric', balanced=True))
    x = _texture(10)
    evaluator.process([_sample(x, x, x)])
    metrics = evaluator.evaluate(1)
    assert metrics['fusion/balanced'] == pytest.approx(1.0)
    assert {'fusion/share_V', 'fusion/share_I', 'fusion/MS_SSIM'} <= \
        set(metrics)


@pytest.mark.slow
def test_stage2_run_keeps_the_best_checkpoint_by_balance(
        repo_root, data_root, fast_cfg, tmp_path):
    """A shrunk stage-2 run (2 iterations, validation on two cropped
    real pairs) with the criterion as save_best writes
    best_fusion_balanced_iter_2.pth and records the score."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from msfam_mm.utils import load_checkpoint_safe

    cfg = fast_cfg(repo_root, 'msfam_stage2', tmp_path, data_root)
    # no earlier trainings needed: random stage-1 weights, no classifier
    cfg.model.stage1_checkpoint = None
    cfg.model.classifier_checkpoint = None
    cfg.model.loss.constraint_weight = 0.0
    cfg.val_evaluator = dict(type='FusionMetric', balanced=True)
    cfg.test_evaluator = cfg.val_evaluator
    cfg.default_hooks.checkpoint.save_best = 'fusion/balanced'
    saved = DefaultScope._instance_dict.copy()
    try:
        runner = Runner.from_cfg(cfg)
        runner.train()
    finally:
        DefaultScope._instance_dict.clear()
        DefaultScope._instance_dict.update(saved)
    best = tmp_path / 'best_fusion_balanced_iter_2.pth'
    assert best.is_file(), sorted(p.name for p in tmp_path.iterdir())
    score = runner.message_hub.get_info('best_score')
    assert score == pytest.approx(
        runner.message_hub.get_scalar('val/fusion/balanced').current())
    assert -1.0 <= score <= 1.0
    meta = load_checkpoint_safe(str(best))['message_hub']
    assert meta['runtime_info']['best_ckpt'].endswith(best.name)
