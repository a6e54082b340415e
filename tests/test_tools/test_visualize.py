"""tools/visualize.py: fused examples and attention maps (paper Figures
6-9) on real TNO crops."""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def vis_tool(load_tool):
    return load_tool('visualize')


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
