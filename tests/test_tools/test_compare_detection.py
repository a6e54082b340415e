"""tools/compare_detection.py on several processes: the batch/lr rule, the
torchrun command line, and a 2-process gloo run on the toy KAIST with the
same table as a 1-process run, the protocol's curves in the figure and
pictures of test frames."""
import csv
import json
import os.path as osp

import numpy as np
import pytest

from msfam_mm.datasets.kaist.toy_kaist import make_toy_kaist

TOY = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'gflv2',
               'gflv2_r18_fpn_kaist_toy.py')


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
