"""Tests of the shipping/report tools: tools/export_weights.py,
tools/make_report.py and tools/visualize.py (on real TNO / RoadScene crops).
"""
import hashlib
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
STAGE2_CONFIG = str(REPO / 'configs' / 'msfam_stage2.py')
PUBLISHED = ('DenseFuse', 'FusionGAN', 'IFCNN', 'PIAFusion', 'PMGI',
             'RFN-Nest', 'SDNet', 'SeAFusion', 'U2Fusion')


@pytest.fixture(scope='module')
def export_tool(load_tool):
    return load_tool('export_weights')


@pytest.fixture(scope='module')
def report_tool(load_tool):
    return load_tool('make_report')


@pytest.fixture(scope='module')
def vis_tool(load_tool):
    return load_tool('visualize')


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope='module')
def stage2_checkpoint(tmp_path_factory):
    """An mmengine-style stage-2 checkpoint of a randomly initialised
    MSFAMFusion (what tools/train.py writes: meta + state_dict)."""
    import msfam_mm  # noqa: F401
    from msfam_mm.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(type='MSFAMFusion', data_preprocessor=None))
    path = tmp_path_factory.mktemp('ckpt') / 'iter_10.pth'
    torch.save(dict(meta=dict(iter=10), state_dict=model.state_dict()), path)
    return path


@pytest.fixture(scope='module')
def exported(export_tool, stage2_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp('export')
    before = _sha(stage2_checkpoint)
    res = export_tool.export(str(stage2_checkpoint), None, STAGE2_CONFIG,
                             str(out), 'unit')
    assert _sha(stage2_checkpoint) == before, 'export modified its input'
    return res


# ------------------------------------------------------------ export_weights
def test_export_writes_fp16_state_dicts(exported):
    import msfam_mm  # noqa: F401
    from msfam_mm.models.networks import MSFAMNet
    from msfam_mm.models.networks import SemanticConstraintClassifier
    net_sd = torch.load(exported['stage2']['path'], weights_only=True)
    cls_sd = torch.load(exported['classifier']['path'], weights_only=True)
    assert list(net_sd) == list(MSFAMNet(with_fusion=True).state_dict())
    assert list(cls_sd) == list(SemanticConstraintClassifier().state_dict())
    for sd in (net_sd, cls_sd):
        floats = [v for v in sd.values() if v.is_floating_point()]
        assert floats and all(v.dtype == torch.float16 for v in floats)
    # fp16 rounding of the weights changes the output only a little
    assert exported['stage2']['max_abs_diff'] < 5e-2
    assert exported['classifier']['max_abs_diff'] < 1e-2
    for r in exported.values():
        assert r['sha256'] == _sha(r['path'])
        assert r['bytes'] == os.path.getsize(r['path'])
    # half the bytes of fp32: 4.22 M parameters -> < 9 MiB
    assert exported['stage2']['bytes'] < 9 * 2**20


def test_exported_weights_load_through_inference_api(exported,
                                                     stage2_checkpoint,
                                                     tno42):
    from msfam_mm.apis import FusionInferencer
    vis = cv2.imread(str(tno42 / 'vi' / '05.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '05.png'), cv2.IMREAD_GRAYSCALE)
    vis, ir = vis[100:164, 90:170], ir[100:164, 90:170]
    half = FusionInferencer(STAGE2_CONFIG, exported['stage2']['path'])(vis, ir)
    full = FusionInferencer(STAGE2_CONFIG, str(stage2_checkpoint))(vis, ir)
    assert half.shape == vis.shape and half.dtype == np.uint8
    # same network up to fp16 weight rounding (min-max stretched output)
    assert np.abs(half.astype(int) - full.astype(int)).mean() < 2.0


def test_export_refuses_checkpoint_without_network(export_tool, tmp_path,
                                                   capsys):
    bad = tmp_path / 'cls_only.pth'
    torch.save(dict(state_dict={'classifier.fc.weight': torch.zeros(2, 2)}),
               bad)
    assert export_tool.main([str(bad), '--out-dir', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert 'cls_only.pth' in err and "'net.'" in err
    assert not list(tmp_path.glob('*_fp16.pth'))
    assert export_tool.main([str(tmp_path / 'nope.pth')]) == 2
    assert 'does not exist' in capsys.readouterr().err


def test_fp16_range_check(export_tool):
    with pytest.raises(ValueError, match='float16 range'):
        export_tool.check_fp16_range({'w': torch.tensor([1e6])}, 'x.pth')
    export_tool.check_fp16_range({'w': torch.tensor([6e4]),
                                  'n': torch.tensor([10 ** 9])}, 'x.pth')


# --------------------------------------------------------------- make_report
def test_conventions_from_per_source_values(report_tool, tno42):
    """The report derives Eq. 9 'mean' and 'sum' from one 'standard' run;
    they must equal evaluate_fusion's own conventions."""
    from msfam_mm.evaluation.fusion_metrics import evaluate_fusion
    vis = cv2.imread(str(tno42 / 'vi' / '11.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '11.png'), cv2.IMREAD_GRAYSCALE)
    vis, ir = vis[:96, :112], ir[:96, :112]
    fused = np.maximum(vis, ir)
    std = evaluate_fusion(fused, vis, ir)
    for conv in ('mean', 'sum'):
        ref = evaluate_fusion(fused, vis, ir, convention=conv)
        for m in report_tool.SINGLE + report_tool.PAIRWISE:
            assert report_tool.combine(std, m, conv) == pytest.approx(
                ref[m], rel=1e-12, abs=1e-12), (conv, m)
    # the report's list of differing metrics is right
    mean = evaluate_fusion(fused, vis, ir, convention='mean')
    differ = {m for m in report_tool.PAIRWISE
              if not np.isclose(std[m], mean[m])}
    assert differ == set(report_tool.DIFFERING)


def test_load_sets_real_split(report_tool, tno42):
    data_root = str(tno42.parent)
    split = REPO / 'data' / 'splits' / 'tno_roadscene_test.txt'
    if not (tno42.parent / 'roadscene221').is_dir():
        pytest.skip('roadscene221 absent')
    sets = report_tool.load_sets(data_root, str(split))
    assert len(sets['tno42']) == 42 and len(sets['test']) == 26
    assert all(k.startswith(('tno42/', 'roadscene221/'))
               for k in sets['test'])
    shared = set(sets['test']) & set(sets['tno42'])
    assert shared and all(sets['test'][k] == sets['tno42'][k]
                          for k in shared)
    with pytest.raises(report_tool.ReportError, match='tno42'):
        report_tool.load_sets(str(REPO / 'docs'), str(split))


def test_ranks_and_markdown(report_tool):
    summ = {'A': {'EN': (7.0, 0.1)}, 'B': {'EN': (6.0, 0.2)},
            'C': {'EN': (6.5, 0.3)}, 'me': {'EN': (6.7, 0.0)}}
    assert report_tool.ranks(summ, 'EN', ['A', 'B', 'C'], 'me') == 2
    table = report_tool.md_table(summ, ['EN'])
    assert '**7.0000 ± 0.1000**' in table and '| me | 6.7000' in table
    with pytest.raises(report_tool.ReportError, match='NAME=METHOD'):
        report_tool.parse_ablation('no-equals-sign')
    with pytest.raises(report_tool.ReportError, match='does not exist'):
        report_tool.parse_ablation('x=msfam:configs/nope.py:nope.pth')


def test_balance_line_and_table(report_tool):
    """The source-balance section: per-source CC against the published
    range, infrared shares of MI and VIF, and the 'passes through' verdict
    only when a model is outside the published range on both sources."""
    def row(cv, ci, mv=1.0, mi=1.0, vv=0.3, vi=0.3):
        return {'CC_V': (cv, 0.0), 'CC_I': (ci, 0.0), 'MI_V': (mv, 0.0),
                'MI_I': (mi, 0.0), 'VIF_V': (vv, 0.0), 'VIF_I': (vi, 0.0)}
    summ = {'P1': row(0.6, 0.4, mv=1.5, mi=0.5),
            'P2': row(0.2, 0.8, mv=0.5, mi=1.5, vv=0.1, vi=0.3),
            'me': row(-0.1, 0.97, mv=0.5, mi=2.0, vv=0.1, vi=0.9)}
    line = report_tool.balance_line(summ, who='me', published=('P1', 'P2'))
    assert line.startswith('me: CC with the visible image -0.100, with the '
                           'infrared image 0.970; infrared share of MI '
                           '80 %, of VIF 90 %.')
    assert 'The published methods: CC-V 0.200 (P2) to 0.600 (P1)' in line
    assert 'CC-I 0.400 (P1) to 0.800 (P2)' in line
    assert 'infrared share of MI 25 % (P1) to 75 % (P2)' in line
    assert 'mostly passes the infrared image through' in line
    # inside the published range on one source: no verdict
    summ['me'] = row(0.3, 0.97)
    line = report_tool.balance_line(summ, who='me', published=('P1', 'P2'))
    assert 'passes' not in line
    summ['me'] = row(0.9, 0.1)
    assert 'passes the visible image through' in report_tool.balance_line(
        summ, who='me', published=('P1', 'P2'))
    table = report_tool.md_table(summ, ['CC_V'], digits=3, with_std=False,
                                 bold=False)
    assert '**' not in table and '| me | 0.900 |' in table
    assert '| Method | CC-V |' in table


def test_best_trained_line(report_tool):
    """The goal section names, per goal metric, the best trained run and
    whether it reaches the 3rd published value; it says nothing when the
    ablations were scored on a subset of TNO-42 (not comparable)."""
    goal = report_tool.GOAL_METRICS

    def row(**over):
        return {m: over.get(m, 1.0) for m in goal}
    res = {'MSFAM (shipped)': {'a': row(EN=6.0), 'b': row(EN=7.0)},
           'variant': {'a': row(EN=6.8, MI=3.0), 'b': row(EN=6.8, MI=3.0)}}
    third = {m: 2.0 for m in goal}
    third['EN'] = 6.7
    ctx = dict(ablations=['variant'], ablation_pairs=0,
               results={'tno42_ablation': res})
    line = report_tool.best_trained_line(ctx, third)
    assert 'Best of the 2 trained runs' in line
    assert 'EN 6.8000 (variant; 3rd published 6.7000)' in line
    assert 'MI 3.0000 (variant; 3rd published 2.0000)' in line
    assert line.endswith('At or above the 3rd published value: EN, MI.')
    third['EN'] = third['MI'] = 9.0
    assert report_tool.best_trained_line(ctx, third).endswith(': none.')
    assert report_tool.best_trained_line(dict(ctx, ablation_pairs=16),
                                         third) is None
    assert report_tool.best_trained_line(dict(ctx, ablations=[]),
                                         third) is None


def test_training_overlap_and_unseen_ranks(report_tool):
    """The TNO-42 section says which pairs training saw, and the goal check
    ranks the shipped model on the unseen ones (the TNO pairs of the
    held-out split) among the published methods only."""
    goal = report_tool.GOAL_METRICS
    shipped = report_tool.SHIPPED

    def row(value):
        return {m: value for m in goal}
    keys = ('tno42/01', 'tno42/19', 'tno42/23')
    tno = {shipped: {k: row(5.0 if k == 'tno42/01' else 1.5) for k in keys}}
    for i, name in enumerate(PUBLISHED):  # 1.0 ... 1.8 on every pair
        tno[name] = {k: row(1.0 + 0.1 * i) for k in keys}
    tno['baseline: max'] = {k: row(9.0) for k in keys}
    test = {shipped: {'tno42/19': row(1.5), 'tno42/23': row(1.5),
                      'roadscene221/FLIR_1': row(1.5)}}
    ctx = dict(results={'tno42': tno, 'test': test})
    assert report_tool.unseen_tno_pairs(ctx) == ['tno42/19', 'tno42/23']
    text = report_tool.overlap_text(ctx)
    assert 'Only 2 of these 3 pairs (`tno42/19`, `tno42/23`)' in text
    assert 'the other 1 are stage-2 training pairs' in text
    line = report_tool.unseen_ranks_line(ctx)
    # 1.5 is beaten by 1.6, 1.7, 1.8 (not by the baseline, not by the
    # shipped model's 5.0 on the seen pair)
    assert ', '.join(f'{m} 4' for m in goal) in line
    assert line.startswith('On the 2 TNO-42 pairs of the held-out split')
    assert report_tool.unseen_ranks_line(
        dict(results={'tno42': tno, 'test': {shipped: {}}})) is None


def test_goal_reference_table(report_tool):
    """The goal check for published methods (ranked among the others) and
    baselines (ranked among all published): ranks, counts and verdict."""
    goal = report_tool.GOAL_METRICS

    def row(**over):
        return {m: (over.get(m, 1.0), 0.0) for m in goal}
    pub = ('P1', 'P2', 'P3', 'P4')
    summ = {'P1': row(EN=4.0, MI=4.0, SCD=4.0), 'P2': row(EN=3.0, VIF=2.0),
            'P3': row(EN=2.0, Qabf=3.0), 'P4': row(EN=1.0, SSIM=0.5),
            'baseline: max': {m: (9.0, 0.0) for m in goal}}
    table, line = report_tool.goal_reference_table(summ, ['baseline: max'],
                                                   published=pub)
    lines = table.splitlines()
    assert lines[0] == ('| Method | ' + ' | '.join(goal)
                        + ' | top-3 | best |')
    # ranks count strictly better rivals, so ties share the better place
    assert '| P1 | 1 | 1 | 1 | 2 | 2 | 1 | 6 | 4 |' in lines
    assert '| P2 | 2 | 2 | 2 | 1 | 2 | 1 | 6 | 2 |' in lines
    assert '| P4 | 4 | 2 | 2 | 2 | 2 | 4 | 4 | 0 |' in lines
    assert '| baseline: max | 1 | 1 | 1 | 1 | 1 | 1 | 6 | 6 |' in lines
    assert line == ('Would meet the goal: P1, baseline: max. The most '
                    'top-3 places of a published method: 6 of 6 '
                    '(P1, P2, P3).')
    # each published method last on one metric, the baseline last on all
    for p, m in zip(pub, goal):
        summ[p] = row(**{m: 0.5})
    summ['baseline: max'] = row(**{m: 0.1 for m in goal})
    table, line = report_tool.goal_reference_table(summ, ['baseline: max'],
                                                   published=pub)
    assert '| baseline: max | 5 | 5 | 5 | 5 | 5 | 5 | 0 | 0 |' in table
    assert line == ('None of them would meet the goal. The most top-3 '
                    'places of a published method: 5 of 6 (P1, P2, P3, '
                    'P4).')


def _crop_write(src, dst, box):
    img = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    y0, y1, x0, x1 = box
    dst.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(dst), img[y0:y1, x0:x1])


@pytest.fixture(scope='module')
def tiny_data_root(tno42, tno42_fusions, roadscene221, tmp_path_factory):
    """Real TNO / RoadScene / published-fusion crops in the data layout."""
    root = tmp_path_factory.mktemp('data')
    box = (64, 128, 96, 176)
    for stem in ('05', '11'):
        for band in ('vi', 'ir'):
            _crop_write(tno42 / band / f'{stem}.png',
                        root / 'tno42' / band / f'{stem}.png', box)
        for m in PUBLISHED:
            _crop_write(tno42_fusions / m / f'{stem}.png',
                        root / 'tno42_published_fusions' / m / f'{stem}.png',
                        box)
    rs = sorted(p.name for p in (roadscene221 / 'vi').iterdir())[0]
    for band in ('vi', 'ir'):
        _crop_write(roadscene221 / band / rs,
                    root / 'roadscene221' / band / rs, (0, 64, 0, 72))
    split = root / 'split.txt'
    split.write_text(f'# test split\ntno42/vi/11.png tno42/ir/11.png\n'
                     f'roadscene221/vi/{rs} roadscene221/ir/{rs}\n')
    return root


@pytest.mark.slow
def test_make_report_end_to_end(report_tool, exported, tiny_data_root,
                                tmp_path):
    work = tmp_path / 'work'
    out = tmp_path / 'RESULTS.md'
    argv = ['--out', str(out), '--data-root', str(tiny_data_root),
            '--split', str(tiny_data_root / 'split.txt'),
            '--checkpoint', exported['stage2']['path'],
            '--classifier', exported['classifier']['path'],
            '--work-dir', str(work), '--workers', '1',
            '--speed-repeats', '0', '--macs-size', '32', '40',
            '--ablation', f'same weights again=msfam:{STAGE2_CONFIG}:'
            + exported['stage2']['path']]
    assert report_tool.main(argv) == 0
    text = out.read_text()
    ablations = text.split('## Ablations')[1].split('## Figures')[0]
    assert 'TNO-42, 2 pairs' in ablations
    assert '| same weights again | ' in ablations
    assert 'Not run' not in ablations
    for needle in ('Table 6 reproduction on TNO-42', 'Held-out 10 %',
                   'Paper Table 6 layout', 'Goal check', 'MSFAM (shipped)',
                   'SeAFusion', 'baseline: laplacian', 'Parameters: 4,220,065',
                   'Semantic Constraint classifier',
                   '| images | original size | accuracy | central crop |',
                   exported['stage2']
                   ['sha256'], 'Training schedules',
                   '## Source balance'):
        assert needle in text, needle
    balance = text.split('## Source balance')[1].split('## Model size')[0]
    # published, baselines, shipped and ablation rows; the computed line
    for needle in ('| SeAFusion |', '| baseline: max |', '| MSFAM (shipped) |',
                   '| same weights again |', 'MSFAM (shipped): CC with the '
                   'visible image', 'The published methods: CC-V'):
        assert needle in balance, needle
    assert 'Partial' not in text
    # 2 TNO pairs for 13 methods; the held-out table has 2 pairs
    assert '| MSFAM (shipped) | 2 |' in text
    # a rerun reuses the fused images and the cached scores
    fused = sorted(work.glob('fused/**/*.png'))
    mtimes = [p.stat().st_mtime_ns for p in fused]
    assert report_tool.main(argv) == 0
    assert [p.stat().st_mtime_ns for p in fused] == mtimes
    assert not list(tiny_data_root.rglob('*.tmp*'))


@pytest.mark.slow
def test_make_report_partial_budget(report_tool, exported, tiny_data_root,
                                    tmp_path):
    """With no time for the learned model, the tool refuses clearly instead
    of comparing methods on different images."""
    argv = ['--out', str(tmp_path / 'R.md'), '--data-root',
            str(tiny_data_root), '--split',
            str(tiny_data_root / 'split.txt'),
            '--checkpoint', exported['stage2']['path'],
            '--classifier', exported['classifier']['path'],
            '--work-dir', str(tmp_path / 'w'), '--workers', '1',
            '--speed-repeats', '0', '--fuse-budget-s', '1e-9']
    assert report_tool.main(argv) == 2
    assert not (tmp_path / 'R.md').exists()


def test_make_report_missing_checkpoint(report_tool, tmp_path, capsys):
    assert report_tool.main(['--checkpoint', str(tmp_path / 'x.pth'),
                             '--out', str(tmp_path / 'R.md')]) == 2
    assert 'x.pth' in capsys.readouterr().err
    assert not (tmp_path / 'R.md').exists()


# ---------------------------------------------------------------- visualize
def test_tiles_and_heat(vis_tool):
    grey = np.zeros((40, 80), np.uint8)
    t = vis_tool.tile(grey, 20, 'x')
    assert t.shape == (20 + vis_tool.LABEL_H, 40, 3)
    row = vis_tool.hstack([t, vis_tool.tile(grey, 30, 'y')], gap=2)
    assert row.shape == (30 + vis_tool.LABEL_H, 40 + 2 + 60, 3)
    h = vis_tool.heat(np.array([[0.0, 1.0]]), (4, 2))
    assert h.shape == (2, 4, 3)
    # JET: 0 -> blue, 1 -> red (BGR)
    assert h[0, 0, 0] > h[0, 0, 2] and h[0, -1, 2] > h[0, -1, 0]


@pytest.mark.slow
def test_visualize_writes_figures(vis_tool, exported, tiny_data_root,
                                  tmp_path):
    out = tmp_path / 'fig'
    argv = ['--data-root', str(tiny_data_root), '--checkpoint',
            exported['stage2']['path'], '--pairs', '05,11',
            '--attention-pair', '11', '--methods', 'SeAFusion',
            '--tile-height', '48', '--out-dir', str(out)]
    assert vis_tool.main(argv) == 0
    ex = cv2.imread(str(out / 'examples_tno.png'))
    att = cv2.imread(str(out / 'attention_maps.png'))
    # 2 rows of (vis, ir, msfam, average, laplacian, SeAFusion)
    assert ex.shape[0] == 2 * (48 + vis_tool.LABEL_H) + 6
    # the sources + fused row, then one row per fusion block
    assert att.shape[0] == 5 * (48 + vis_tool.LABEL_H) + 4 * 6
    assert vis_tool.main(argv[:-2] + ['--pairs', '99', '--out-dir',
                                      str(tmp_path / 'f2')]) == 2
    assert not (tmp_path / 'f2').exists()


def test_loss_gradients_tool_on_shipped_weights(tno42, tmp_path, capsys,
                                                load_tool):
    """tools/loss_gradients.py (the gradient figures of docs/training.md):
    one entry per term of Eq. 2, finite and non-zero, the same whether the
    network comes as a bare state dict or inside a training checkpoint;
    the L1 gradient obeys its analytic bound; a crop outside the image is
    refused with the file named."""
    import json
    tool = load_tool('loss_gradients')
    net = REPO / 'checkpoints' / 'msfam_cpu_stage2_fp16.pth'
    cls = REPO / 'checkpoints' / 'msfam_cpu_classifier_fp16.pth'
    vis, ir = str(tno42 / 'vi' / '05.png'), str(tno42 / 'ir' / '05.png')
    argv = ['--config', STAGE2_CONFIG, '--classifier', str(cls), '--vis', vis,
            '--ir', ir, '--crop', '90', '76', '48', '64', '--margin', '4']

    def run(net_path):
        tool.main(['--net', str(net_path)] + argv)
        return json.loads(capsys.readouterr().out)['terms']

    terms = run(net)
    assert set(terms) == {'loss_l1', 'loss_constraint', 'loss_pull_push'}
    for t in terms.values():
        assert 0 < t['mean_abs_grad'] < float('inf')
    # d/dF of (mean|F-V| + mean|F-I|)/2 is 0, +-1/(2N) or +-1/N per pixel
    assert terms['loss_l1']['mean_abs_grad'] <= 1 / (48 * 64) + 1e-12
    assert terms['loss_pull_push']['relative_to_pull_push'] == 1.0
    wrapped = tmp_path / 'iter_1.pth'
    state = torch.load(net, weights_only=True)
    torch.save({'state_dict': {f'net.{k}': v for k, v in state.items()}},
               wrapped)
    again = run(wrapped)
    for name, t in terms.items():
        assert again[name]['mean_abs_grad'] == pytest.approx(
            t['mean_abs_grad'], rel=1e-6)
    with pytest.raises(SystemExit, match='05.png'):
        tool.main(['--net', str(net), '--config', STAGE2_CONFIG,
                   '--classifier', str(cls), '--vis', vis, '--ir', ir,
                   '--crop', '400', '0', '128', '128'])


def test_score_checkpoints_tool(tno42, tmp_path, capsys, load_tool):
    """tools/score_checkpoints.py (how the shipped stage 2 was chosen): one
    JSON line per candidate with the means over the listed pairs; the
    classic 'max' line equals evaluate_fusion on np.maximum; a missing
    checkpoint is refused by name."""
    import json
    from msfam_mm.evaluation.fusion_metrics import evaluate_fusion
    tool = load_tool('score_checkpoints')
    split = tmp_path / 'two.txt'
    split.write_text('# two TNO pairs\ntno42/vi/08.png tno42/ir/08.png\n'
                     'tno42/vi/05.png tno42/ir/05.png\n')
    net = REPO / 'checkpoints' / 'msfam_cpu_stage2_fp16.pth'
    tool.main(['--split', str(split), '--data-root', str(tno42.parent),
               '--config', STAGE2_CONFIG, f'shipped={net}', 'max'])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x['name'] for x in lines] == ['shipped', 'max']
    assert all(x['pairs'] == 2 for x in lines)
    expect = []
    for k in ('08', '05'):
        v = cv2.imread(str(tno42 / 'vi' / f'{k}.png'), cv2.IMREAD_GRAYSCALE)
        i = cv2.imread(str(tno42 / 'ir' / f'{k}.png'), cv2.IMREAD_GRAYSCALE)
        expect.append(evaluate_fusion(np.maximum(v, i), v, i,
                                      metrics=tool.METRICS + ('CC',)))
    for m in tool.METRICS + tool.BALANCE:
        assert lines[1][m] == pytest.approx(
            np.mean([e[m] for e in expect]), rel=1e-9)
        assert np.isfinite(lines[0][m])
    assert lines[0]['MI'] != lines[1]['MI']
    with pytest.raises(SystemExit, match='nope.pth'):
        tool.main(['--split', str(split), '--data-root', str(tno42.parent),
                   'x=nope.pth'])


# ------------------------------------- export_weights: checks before writing
def _export_outputs(out, prefix='unit'):
    return [out / f'{prefix}_stage2_fp16.pth',
            out / f'{prefix}_classifier_fp16.pth']


def test_export_bad_classifier_writes_nothing(export_tool, stage2_checkpoint,
                                              tmp_path, capsys):
    """The classifier is checked before anything is written: a bad
    --classifier leaves the existing outputs (e.g. the shipped files) as
    they were, and the error names the classifier file."""
    out = tmp_path / 'out'
    out.mkdir()
    for p in _export_outputs(out):
        p.write_bytes(b'previous export')
    bad = tmp_path / 'bad_cls.pth'
    torch.save(dict(state_dict={'classifier.fc.weight': torch.zeros(2, 2)}),
               bad)
    rc = export_tool.main([str(stage2_checkpoint), '--classifier', str(bad),
                           '--config', STAGE2_CONFIG, '--out-dir', str(out),
                           '--prefix', 'unit'])
    assert rc == 2
    for p in _export_outputs(out):
        assert p.read_bytes() == b'previous export'
    assert sorted(x.name for x in out.iterdir()) == sorted(
        p.name for p in _export_outputs(out))  # no temporary files left
    assert 'bad_cls.pth' in capsys.readouterr().err


def test_export_stage1_checkpoint_as_stage2_is_named(export_tool, exported,
                                                     tmp_path, capsys):
    """A stage-1 checkpoint (no fusion blocks) given as stage 2: the error
    names that file, and nothing is written."""
    import msfam_mm  # noqa: F401
    from msfam_mm.registry import MODELS
    stage1 = MODELS.build(dict(type='MSFAMReconstructor',
                               data_preprocessor=None))
    path = tmp_path / 'stage1_iter_800.pth'
    torch.save(dict(meta=dict(iter=800), state_dict=stage1.state_dict()),
               path)
    out = tmp_path / 'out'
    rc = export_tool.main([str(path), '--classifier',
                           exported['classifier']['path'],
                           '--config', STAGE2_CONFIG, '--out-dir', str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert 'stage1_iter_800.pth' in err and 'MSFAMNet' in err
    assert not out.exists() or not list(out.iterdir())


def test_export_writes_both_or_neither(export_tool, stage2_checkpoint,
                                       tmp_path, monkeypatch):
    """If writing the second file fails, the first is not installed
    either and no temporary file is left behind."""
    real_save, calls = torch.save, []

    def failing_save(obj, f, *a, **k):
        calls.append(f)
        if len(calls) == 2:
            raise OSError('disk full')
        return real_save(obj, f, *a, **k)
    monkeypatch.setattr(export_tool.torch, 'save', failing_save)
    out = tmp_path / 'out'
    with pytest.raises(OSError, match='disk full'):
        export_tool.export(str(stage2_checkpoint), None, STAGE2_CONFIG,
                           str(out), 'unit')
    assert len(calls) == 2
    assert not out.exists() or not list(out.iterdir())


def test_export_refuses_to_overwrite_its_input(export_tool, exported,
                                               stage2_checkpoint, tmp_path,
                                               capsys):
    out = tmp_path / 'out'
    out.mkdir()
    cls = out / 'unit_classifier_fp16.pth'
    cls.write_bytes(Path(exported['classifier']['path']).read_bytes())
    before = _sha(cls)
    rc = export_tool.main([str(stage2_checkpoint), '--classifier', str(cls),
                           '--config', STAGE2_CONFIG, '--out-dir', str(out),
                           '--prefix', 'unit'])
    assert rc == 2
    err = capsys.readouterr().err
    assert str(cls) in err and 'input' in err
    assert _sha(cls) == before and [p.name for p in out.iterdir()] == [
        cls.name]


def test_export_replacing_a_file_says_so_and_help_shows_defaults(
        export_tool, stage2_checkpoint, tmp_path, capsys, monkeypatch):
    out = tmp_path / 'out'
    out.mkdir()
    old = _export_outputs(out)[0]
    old.write_bytes(b'old weights')
    assert export_tool.main([str(stage2_checkpoint), '--config',
                             STAGE2_CONFIG, '--out-dir', str(out),
                             '--prefix', 'unit']) == 0
    captured = capsys.readouterr()
    assert f'replaced {old}' in captured.err
    assert hashlib.sha256(b'old weights').hexdigest() in captured.err
    assert _sha(old) in captured.out
    monkeypatch.setenv('COLUMNS', '2000')  # no line break inside a path
    with pytest.raises(SystemExit):
        export_tool.parse_args(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    # the defaults are the shipped weights' own paths: say so
    assert f'default: {REPO / "checkpoints"}' in text
    assert 'default: msfam_cpu' in text
    assert f'default: {REPO / "configs" / "msfam_stage2.py"}' in text


def test_export_of_the_shipped_weights_is_byte_identical(export_tool,
                                                         tmp_path):
    """Re-exporting the shipped files reproduces their sha256 (the zip's
    record names follow the output name, not the temporary one)."""
    ship = REPO / 'checkpoints'
    res = export_tool.export(str(ship / 'msfam_cpu_stage2_fp16.pth'),
                             str(ship / 'msfam_cpu_classifier_fp16.pth'),
                             out_dir=str(tmp_path), prefix='msfam_cpu')
    for name in ('stage2', 'classifier'):
        assert res[name]['sha256'] == _sha(
            ship / f'msfam_cpu_{name}_fp16.pth')
        assert res[name]['max_abs_diff'] == 0


# --------------------------------------- visualize: captions and defaults
def test_visualize_captions_name_the_checkpoint(vis_tool, tiny_data_root,
                                                monkeypatch):
    """The MSFAM tiles say which weights made them: 'shipped' only for the
    shipped file, else the checkpoint's file name."""
    labels = []
    real_tile = vis_tool.tile

    def recording_tile(img, height, label):
        labels.append(label)
        return real_tile(img, height, label)
    monkeypatch.setattr(vis_tool, 'tile', recording_tile)

    def fuser(vis, ir):
        return np.zeros((64, 80), np.uint8)
    for ckpt, caption in (
            ('/elsewhere/work_dirs/run7/iter_300.pth', 'MSFAM (iter_300.pth)'),
            (vis_tool.DEFAULT_CKPT, 'MSFAM (shipped)')):
        labels.clear()
        args = vis_tool.parse_args(['--data-root', str(tiny_data_root),
                                    '--checkpoint', ckpt, '--pairs', '05',
                                    '--tile-height', '32'])
        vis_tool.examples_figure(args, fuser, [], [])
        assert labels == ['05 visible', 'infrared', caption]
    # a name longer than the tile is cut visibly
    assert vis_tool.fit_caption('MSFAM (' + 'x' * 80 + '.pth)',
                                60).endswith('...')
    assert vis_tool.fit_caption('MSFAM', 60) == 'MSFAM'


def test_visualize_defaults_work_from_any_directory(vis_tool, tmp_path,
                                                    monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = vis_tool.parse_args([])
    assert Path(args.config) == REPO / 'configs' / 'msfam_stage2.py'
    assert Path(args.checkpoint) == (REPO / 'checkpoints'
                                     / 'msfam_cpu_stage2_fp16.pth')
    assert Path(args.data_root) == REPO / 'data'
    assert Path(args.out_dir) == REPO / 'docs' / 'figures'
    assert os.path.isfile(args.config) and os.path.isfile(args.checkpoint)
    # wide help lines: argparse would otherwise break a long path (a deep
    # clone) inside the name
    monkeypatch.setenv('COLUMNS', '2000')
    with pytest.raises(SystemExit):
        vis_tool.parse_args(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    for path in (args.config, args.checkpoint, args.data_root,
                 args.out_dir):
        assert f'default: {path}' in text
