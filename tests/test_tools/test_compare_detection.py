"""tools/compare_detection.py (paper Section 4.4, Table 7): its schedules,
image types and tables, runs on the real KAIST sample, and on several
processes the batch/lr rule, the torchrun command line, and a 2-process
gloo run on the toy KAIST with the same table as a 1-process run, the
protocol's curves in the figure and pictures of test frames."""
import csv
import json
import os.path as osp

import numpy as np
import pytest

from msfam_mm.datasets.kaist.toy_kaist import make_toy_kaist

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs',
                      'gflv2')
BASE = osp.join(CONFIG_DIR, 'gflv2_r50_fpn_24e_kaist_base.py')
TOY = osp.join(CONFIG_DIR, 'gflv2_r18_fpn_kaist_toy.py')
SAMPLE_SET = 'imageSets/sample-all.txt'


def test_scaling_rule(load_tool):
    """Toy config: batch 4 per process, lr 0.02 for base_batch_size 4; two
    processes train on 8 images per step with lr 0.02 x 8 / 4 = 0.04."""
    from mmengine.config import Config
    tool = load_tool('compare_detection')
    cfg = Config.fromfile(TOY)
    rule = tool.scale_batch_and_lr(cfg, 2)
    assert (rule['batch_per_process'], rule['total_batch'],
            rule['base_batch_size']) == (4, 8, 4)
    assert rule['lr'] == 0.02 and rule['scaled_lr'] == pytest.approx(0.04)
    assert cfg.auto_scale_lr.enable and cfg.auto_scale_lr.base_batch_size == 4
    assert cfg.train_dataloader.batch_size == 4  # per process, unchanged
    assert '2 processes x 4 images = 8 images per iteration' in rule['rule']
    assert 'lr 0.02 x 8/4 (auto_scale_lr.base_batch_size) = 0.04' in \
        rule['rule']
    one = tool.scale_batch_and_lr(Config.fromfile(TOY), 1)
    assert one['scaled_lr'] == pytest.approx(0.02)
    off = tool.scale_batch_and_lr(Config.fromfile(TOY), 2,
                                  {'auto_scale_lr.enable': False})
    assert off['scaled_lr'] == 0.02 and 'unscaled' in off['rule']


def test_torchrun_arguments(load_tool):
    tool = load_tool('compare_detection')
    types = tool.parse_types('visible,msfam=/out/k:fused,x=/r')
    assert [tool.type_spec(t) for t in types] == [
        'visible', 'msfam=/out/k:fused', 'x=/r:x']
    assert tool.parse_types(','.join(tool.type_spec(t) for t in types)) \
        == types
    argv = ['--kaist', 'K', '--types', 'a,b', '--gpus', '4', '--config',
            'C', '--cfg-options', 'x=1', 'y=[1,2]']
    assert tool._child_argv(argv, 'b') == [
        '--kaist', 'K', '--config', 'C', '--cfg-options', 'x=1', 'y=[1,2]',
        '--types', 'b', '--launcher', 'pytorch', '--no-comparison']
    assert tool._child_argv(['--gpus=2', '--types=a'], 'a')[:2] == [
        '--types', 'a']


def test_gpus_and_launcher_exclude_each_other(load_tool, tmp_path):
    tool = load_tool('compare_detection')
    with pytest.raises(SystemExit):
        tool.parse_args(['--kaist', '.', '--types', 'a', '--config', 'c',
                         '--work-dir', 'w', '--gpus', '2', '--launcher',
                         'pytorch'])
    with pytest.raises(SystemExit):
        tool.parse_args(['--kaist', '.', '--types', 'a', '--config', 'c',
                         '--work-dir', 'w', '--gpus', '0'])


def _table(work):
    md = (work / 'comparison.md').read_text().splitlines()
    rows = list(csv.DictReader((work / 'comparison.csv').open()))
    return md, rows


@pytest.mark.slow
def test_two_gloo_processes_like_one(tmp_path, load_tool, monkeypatch):
    """The same toy comparison with 1 process and with --gpus 2 (gloo on the
    CPU): identical table layout, the 2-process run trained with the
    scaled lr, the figure's lines are the metric's curves, pictures drawn."""
    import msfam_mm.visualization as vis
    root = tmp_path / 'toy'
    make_toy_kaist(str(root), num_frames=8, seed=0)
    tool = load_tool('compare_detection')
    drawn = []
    save = vis.save_figure

    def keep(fig, path, **kw):
        drawn.append((path, fig))
        save(fig, path, **kw)

    monkeypatch.setattr(vis, 'save_figure', keep)
    common = ['--kaist', str(root), '--types', 'visible,lwir', '--config',
              TOY, '--vis-frames', '2', '--cfg-options',
              'train_cfg.max_epochs=1',
              # toy frames are 256 px high: KAIST's 55 px scaled
              'test_evaluator.1.min_height=27.5']
    one, two = tmp_path / 'one', tmp_path / 'two'
    tool.main(common + ['--work-dir', str(one)])
    tool.main(common + ['--work-dir', str(two), '--gpus', '2'])

    md1, rows1 = _table(one)
    md2, rows2 = _table(two)
    assert md1[:2] == md2[:2]  # header and alignment row
    assert [r['type'] for r in rows1] == [r['type'] for r in rows2] == [
        'visible', 'lwir']
    assert list(rows1[0]) == list(rows2[0])
    assert [len(ln.split('|')) for ln in md1] == [
        len(ln.split('|')) for ln in md2]
    for t in ('visible', 'lwir'):
        m1 = json.loads((one / t / 'metrics.json').read_text())
        m2 = json.loads((two / t / 'metrics.json').read_text())
        assert (m1['world_size'], m2['world_size']) == (1, 2)
        # the lr the Runner trained with (after mmengine's auto_scale_lr)
        assert m1['lr'] == pytest.approx(0.02)
        assert m2['lr'] == pytest.approx(0.04)
        assert m2['scaling']['total_batch'] == 8
        assert m1['test_images'] == m2['test_images'] == 4
        assert m2['config_sha256'] != m1['config_sha256']
        for work in (one, two):
            pictures = sorted((work / 'detections' / t).iterdir())
            assert len(pictures) == 2
            assert pictures[0].read_bytes()[:4] == b'\x89PNG'
            assert (work / t / 'results.bbox.json').is_file()
    for work in (one, two):
        for name in ('miss_rate_fppi.png', 'ap_bars.png'):
            assert (work / name).read_bytes()[:4] == b'\x89PNG'
    # the last miss-rate figure of the 2-process run draws, per type, the
    # curves its KAIST metric kept
    from msfam_mm.evaluation.kaist.curves import load_miss_rate_curves
    fig = [f for p, f in drawn
           if p == osp.join(str(two), 'miss_rate_fppi.png')][-1]
    for ax, subset in zip(fig.axes, ('all', 'day', 'night')):
        lines = {ln.get_label().rsplit(' ', 1)[1]: ln for ln in ax.get_lines()}
        assert set(lines) == {'visible', 'lwir'}
        for t, line in lines.items():
            curves = load_miss_rate_curves(
                str(two / t / 'miss_rate_curves.npz'))[subset]
            metrics = json.loads((two / t / 'metrics.json').read_text())
            assert curves['mr'] * 100 == pytest.approx(
                metrics['metrics'][f'kaist/MR-2_{subset}'], nan_ok=True)
            if len(line.get_xdata()):
                np.testing.assert_array_equal(line.get_xdata(),
                                              curves['fppi'])
                np.testing.assert_array_equal(line.get_ydata(),
                                              1 - curves['recall'])


@pytest.mark.usefixtures('mmdet_scope')
def test_shorter_run_keeps_the_decay_points(tmp_path, load_tool):
    """`--cfg-options train_cfg.max_epochs=12` gives MMDetection's 1x decay
    (8, 11), not 24-epoch milestones that a 12-epoch run never reaches; a
    schedule set on the command line is left as given."""
    tool = load_tool('compare_detection')

    def schedule(options):
        cfg = tool.type_config(BASE, str(tmp_path), tool.ImageType(
            'lwir', 'lwir'), str(tmp_path), 0, None, None, options)
        step = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
        return cfg.train_cfg.max_epochs, step[0].milestones, step[0].end

    assert schedule(None) == (24, [16, 22], 24)
    assert schedule({'train_cfg.max_epochs': 12}) == (12, [8, 11], 12)
    assert schedule({'train_cfg.max_epochs': 12,
                     'param_scheduler.1.milestones': [9, 10]}) == \
        (12, [9, 10], 24)


# ------------------------------------------------------ compare_detection
@pytest.mark.usefixtures('mmdet_scope')
def test_parse_types(load_tool):
    tool = load_tool('compare_detection')
    types = tool.parse_types('visible, lwir,msfam=/out/k:fused,x=/r')
    assert [t.label for t in types] == ['visible', 'lwir', 'msfam', 'x']
    assert types[0].images_root is None and types[0].folder == 'visible'
    assert types[2].folder == 'fused'
    assert types[2].images_root == osp.join('/out/k', 'images')
    assert types[3].folder == 'x'
    for bad in ('', 'a/b', 'visible,visible', '../x'):
        with pytest.raises(ValueError):
            tool.parse_types(bad)


@pytest.mark.usefixtures('mmdet_scope')
def test_missing_type_folder_names_path(toy_kaist, tmp_path, load_tool):
    tool = load_tool('compare_detection')
    with pytest.raises(FileNotFoundError,
                       match=r'images/set00/V000/fused_msfam'):
        tool.main([
            '--kaist', str(toy_kaist), '--types', 'visible,fused_msfam',
            '--config', TOY, '--work-dir', str(tmp_path),
            '--train-image-set', SAMPLE_SET, '--test-image-set', SAMPLE_SET
        ])
    assert not (tmp_path / 'comparison.md').exists()


@pytest.mark.usefixtures('mmdet_scope')
def test_markdown_marks_best_values(load_tool):
    tool = load_tool('compare_detection')
    rows = [
        dict(type='visible', epochs=24, AP=0.3, AP50=0.7, AP_S=0.1,
             AP_M=0.3, AP_L=0.5, **{'MR-2_all': 40.0, 'MR-2_day': 35.0,
                                   'MR-2_night': 50.0}, images_per_s=10.0),
        dict(type='lwir', epochs=24, AP=0.35, AP50=0.75, AP_S=-1.0,
             AP_M=0.2, AP_L=None, **{'MR-2_all': 30.0, 'MR-2_day': 36.0,
                                    'MR-2_night': float('nan')},
             images_per_s=9.0),
    ]
    md = tool.format_markdown(rows)
    visible, lwir = [ln for ln in md.splitlines()
                     if ln.startswith('| visible') or ln.startswith('| lwir')]
    assert '**0.350**' in lwir and '**0.750**' in lwir  # AP: higher better
    assert '**30.0**' in lwir and '**35.0**' in visible  # MR: lower better
    assert '| 50.0 |' in visible  # single valid value: nothing to compare
    assert '-1.000' in lwir and lwir.count('n/a') == 2  # AP_L, MR night
    assert '**10.0**' in visible
    table = list(csv.DictReader(tool.format_csv(rows).splitlines()))
    assert table[1]['type'] == 'lwir' and table[1]['AP_L'] == ''
    assert float(table[0]['MR-2_all']) == 40.0


# ------------------------------------------- CPU training on real frames
@pytest.mark.usefixtures('mmdet_scope')
@pytest.mark.slow
def test_gflv2_learns_on_kaist_sample(kaist_sample, tmp_path, load_tool):
    """Overfit the 13 real KAIST thermal frames: the loss falls and AP50 on
    the same frames becomes positive (a real learning check of the head,
    its losses, the dataset and both metrics)."""
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    tool = load_tool('compare_detection')
    cfg = tool.type_config(TOY, str(kaist_sample), tool.ImageType(
        'lwir', 'lwir'), str(tmp_path), seed=0, train_image_set=SAMPLE_SET,
                           test_image_set=SAMPLE_SET, cfg_options=None)
    losses = []

    class LossRecorder(Hook):

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            losses.append(float(outputs['loss']))

    runner = Runner.from_cfg(cfg)
    runner.register_hook(LossRecorder())
    runner.train()
    metrics = runner.test()
    k = max(3, len(losses) // 5)
    first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
    assert last < 0.9 * first, (first, last)
    assert metrics['coco/bbox_mAP_50'] > 0, metrics
    assert 0 <= metrics['kaist/MR-2_all'] <= 100


@pytest.mark.usefixtures('mmdet_scope')
@pytest.mark.slow
def test_compare_detection_end_to_end(toy_kaist, tmp_path, load_tool):
    """tools/compare_detection.py on a KAIST-layout input of 13 day and
    night frames, two types, tiny schedule: tables are written with one row
    per type and every column."""
    tool = load_tool('compare_detection')
    argv = [
        '--kaist', str(toy_kaist), '--types', 'visible,lwir', '--config',
        TOY, '--work-dir', str(tmp_path), '--train-image-set', SAMPLE_SET,
        '--test-image-set', SAMPLE_SET, '--cfg-options',
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=13'
    ]
    rows = tool.main(argv)
    assert [r['type'] for r in rows] == ['visible', 'lwir']
    table = list(csv.DictReader(open(tmp_path / 'comparison.csv')))
    assert [r['type'] for r in table] == ['visible', 'lwir']
    for r in table:
        assert r['epochs'] == '1'
        assert float(r['images_per_s']) > 0
        for key in ('MR-2_all', 'MR-2_day', 'MR-2_night'):
            assert 0 <= float(r[key]) <= 100  # day and night frames exist
    md = (tmp_path / 'comparison.md').read_text()
    assert md.count('\n| visible |') == 1 and md.count('\n| lwir |') == 1
    for t in ('visible', 'lwir'):
        saved = json.loads((tmp_path / t / 'metrics.json').read_text())
        assert saved['test_images'] == 13
        assert 'kaist/MR-2_all' in saved['metrics']
    # a second run with --skip-existing reuses both results unchanged
    before = (tmp_path / 'comparison.csv').read_text()
    tool.main(argv + ['--skip-existing'])
    assert (tmp_path / 'comparison.csv').read_text() == before


@pytest.mark.usefixtures('mmdet_scope')
def test_missing_image_type_fails_before_training(tmp_path, load_tool):
    """Every video of the lists needs the type's folder; the lists take the
    same id forms as KAISTDataset (here the flattened one) and a bad id is
    named with its file and line."""
    tool = load_tool('compare_detection')
    (tmp_path / 'imageSets').mkdir()
    (tmp_path / 'imageSets' / 'a.txt').write_text(
        'set06_V000_I00019\nset07/V001/I00100\n')
    for video in ('set06/V000', 'set07/V001'):
        (tmp_path / 'images' / video / 'lwir').mkdir(parents=True)
    (tmp_path / 'images' / 'set06' / 'V000' / 'visible').mkdir()
    types = tool.parse_types('lwir,visible')
    tool.check_image_types(str(tmp_path), ['imageSets/a.txt'], types[:1])
    with pytest.raises(FileNotFoundError,
                       match=r"'visible' is missing: .*set07/V001/visible"):
        tool.check_image_types(str(tmp_path), ['imageSets/a.txt'], types)
    (tmp_path / 'imageSets' / 'b.txt').write_text('set06/V000/I00019\nV001\n')
    with pytest.raises(ValueError, match=r'b\.txt, line 2'):
        tool.check_image_types(str(tmp_path), ['imageSets/b.txt'], types[:1])
