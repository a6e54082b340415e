"""tools/make_report.py: the generated tables and figure of both protocols,
end to end on real TNO / RoadScene crops with a randomly initialised model
(the fusing, scoring, classifier and size steps all run), and its errors."""
from pathlib import Path

import cv2
import pytest

from msfam_mm.evaluation.fusion_report.figures import CAPTION_H, GAP

REPO = Path(__file__).resolve().parents[2]
STAGE2_CONFIG = str(REPO / 'configs' / 'msfam_stage2.py')


@pytest.fixture(scope='module')
def report_tool(load_tool):
    return load_tool('make_report')


def _argv(tiny_data_root, exported, tmp_path, *extra, workers=1):
    return ['--data-root', str(tiny_data_root),
            '--split', str(tiny_data_root / 'split.txt'),
            '--checkpoint', exported['stage2']['path'],
            '--classifier', exported['classifier']['path'],
            '--work-dir', str(tmp_path / 'work'),
            '--out-dir', str(tmp_path / 'out'), '--workers', str(workers),
            '--speed-repeats', '0', '--macs-size', '32', '40',
            '--train-config', f'stage2={tiny_data_root / "stage2.py"}',
            *extra]


@pytest.fixture(scope='module')
def tiny_training_config(tiny_data_root):
    """A stage-2 config of the tiny data root trained on TNO pair 05 and
    the RoadScene pair (TNO 11 stays unseen)."""
    rs = next((tiny_data_root / 'roadscene221' / 'vi').iterdir()).name
    (tiny_data_root / 'train.txt').write_text(
        f'tno42/vi/05.png tno42/ir/05.png\n'
        f'roadscene221/vi/{rs} roadscene221/ir/{rs}\n')
    (tiny_data_root / 'stage2.py').write_text(
        f"_base_ = ['{STAGE2_CONFIG}']\n"
        f"train_dataloader = dict(dataset=dict(ann_file="
        f"'{tiny_data_root / 'train.txt'}'))\n")


@pytest.mark.slow
def test_paper_protocol_end_to_end(report_tool, exported, tiny_data_root,
                                   tiny_training_config, tmp_path):
    # two scoring processes, started after the model ran in this one (a
    # forked worker could inherit a held lock of its thread pools)
    argv = _argv(tiny_data_root, exported, tmp_path, '--ablation',
                 f'same weights again=msfam:{STAGE2_CONFIG}:'
                 + exported['stage2']['path'], workers=2)
    assert report_tool.main(argv) == 0
    text = (tmp_path / 'out' / 'paper.md').read_text()
    for needle in ('# Generated results: protocol `paper`',
                   '## TNO-42, 2 pairs', '## Held-out 10 % split of TNO + '
                   'RoadScene, 2 pairs', "The paper's Table 6 layout",
                   '| MSFAM (shipped) | 2 |', 'SeAFusion',
                   'baseline: laplacian', 'Parameters: 4,220,065',
                   '### Correlation of the output with each source',
                   '| Method | CC-V | CC-I |',
                   '| images | original size | accuracy | central crop |',
                   exported['stage2']['sha256'], '## Source balance',
                   '**top-3 on', '| same weights again |'):
        assert needle in text, needle
    # the training table: the config's two pairs, one of them in TNO-42
    assert '| stage2 | `' in text and '| 1 / 2 | 1 / 2 |' in text
    # the one unseen TNO pair gets its own ranking
    assert 'On the 1 pairs no training config above saw' in text
    assert 'Partial' not in text
    fig = tmp_path / 'out' / 'figures' / 'paper_tno42.png'
    img = cv2.imread(str(fig))
    # one row, for the one unseen pair (TNO 11, 64x80 scaled to 160 high):
    # sources, the model and the three published columns
    assert img.shape[:2] == (160 + CAPTION_H, 6 * 200 + 5 * GAP)
    # a rerun reuses the fused images and the cached scores
    fused = sorted((tmp_path / 'work').glob('fused/**/*.png'))
    mtimes = [p.stat().st_mtime_ns for p in fused]
    assert report_tool.main(argv) == 0
    assert [p.stat().st_mtime_ns for p in fused] == mtimes
    assert not list(tiny_data_root.rglob('.*.part*'))


@pytest.mark.slow
def test_cross_protocol_end_to_end(report_tool, exported, tiny_data_root,
                                   tiny_training_config, tmp_path):
    assert report_tool.main(['--protocol', 'cross'] + _argv(
        tiny_data_root, exported, tmp_path, '--figure-methods',
        'SeAFusion')) == 0
    text = (tmp_path / 'out' / 'cross.md').read_text()
    assert '# Generated results: protocol `cross`' in text
    assert 'Held-out' not in text and '## TNO-42, 2 pairs' in text
    assert 'classifier on the TNO-42, 2 pairs' in text
    # TNO 05 trained on, TNO 11 not
    assert '| 1 / 2 |' in text
    ranks = text.split('## Rank among')[1].split('## Source balance')[0]
    assert ranks.count('| rank among 10 |') == 2  # all pairs, unseen pair
    img = cv2.imread(str(tmp_path / 'out' / 'figures' / 'cross_tno42.png'))
    assert img is not None


def test_cross_protocol_reads_its_training_configs(report_tool, tmp_path,
                                                   capsys):
    """The cross protocol states the images of configs/cross/ by default;
    a data root without them is named before anything is fused."""
    rc = report_tool.main(['--protocol', 'cross', '--out-dir',
                           str(tmp_path), '--data-root',
                           str(tmp_path / 'nowhere')])
    assert rc == 2
    err = capsys.readouterr().err
    assert "configs/cross/msfam_stage1_cross.py" in err
    assert 'nowhere/roadscene221/vi' in err
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_out_names_the_file(report_tool, exported, tiny_data_root,
                            tiny_training_config, tmp_path):
    """--out (the earlier interface) writes the tables to that file and
    the figure beside it."""
    out = tmp_path / 'elsewhere' / 'R.md'
    assert report_tool.main(_argv(tiny_data_root, exported, tmp_path,
                                  '--out', str(out))) == 0
    assert out.read_text().startswith('# Generated results')
    assert (out.parent / 'figures' / 'paper_tno42.png').is_file()
    assert not (tmp_path / 'out').exists()


def test_missing_checkpoint(report_tool, tmp_path, capsys):
    assert report_tool.main(['--checkpoint', str(tmp_path / 'x.pth'),
                             '--out-dir', str(tmp_path / 'out')]) == 2
    assert 'x.pth' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_unknown_figure_method(report_tool, exported, tiny_data_root,
                               tiny_training_config, tmp_path, capsys):
    """Refused before anything is fused."""
    assert report_tool.main(_argv(tiny_data_root, exported, tmp_path,
                                  '--figure-methods', 'SeAFusion,Nope')) == 2
    assert "'SeAFusion,Nope'" in capsys.readouterr().err
    assert not (tmp_path / 'work').exists()


@pytest.mark.slow
def test_no_time_for_the_model_refuses(report_tool, exported,
                                       tiny_data_root, tiny_training_config,
                                       tmp_path):
    """With no time for the learned model, the tool refuses clearly
    instead of comparing methods on different images."""
    argv = _argv(tiny_data_root, exported, tmp_path,
                 '--fuse-budget-s', '1e-9')
    assert report_tool.main(argv) == 2
    assert not (tmp_path / 'out' / 'paper.md').exists()
