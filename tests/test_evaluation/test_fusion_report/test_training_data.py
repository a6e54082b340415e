"""msfam_mm.evaluation.fusion_report.training_data: the images a training
config feeds its model, read from the real configs and split lists."""
import pytest

from msfam_mm.evaluation.fusion_report.protocols import ReportError
from msfam_mm.evaluation.fusion_report.training_data import (
    TrainingData, pairs_seen, parse_role_config, training_data,
    unseen_pairs)


def _list_keys(path):
    """Pair keys of a split list, by hand: tno42/vi/05.png -> tno42/05."""
    keys = set()
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith('#'):
            vis = line.split()[0]
            keys.add(vis.split('/')[0] + '/' + vis.rsplit('/', 1)[1]
                     .rsplit('.', 1)[0])
    return keys


def test_stage2_config_trains_on_the_training_split(repo_root, data_root):
    cfg = str(repo_root / 'configs' / 'cpu' / 'msfam_stage2_cpu.py')
    t = training_data(cfg, str(data_root), 'stage2')
    train = _list_keys(repo_root / 'data' / 'splits'
                       / 'tno_roadscene_train.txt')
    test = _list_keys(repo_root / 'data' / 'splits'
                      / 'tno_roadscene_test.txt')
    assert t.keys == train and not t.keys & test
    assert t.files == 2 * len(train)  # a visible and an infrared file each
    assert sum(t.images_per_set.values()) == t.files
    assert t.images_per_set['tno42'] == 2 * sum(
        k.startswith('tno42/') for k in train)
    assert (t.role, t.batch, t.crop) == ('stage2', 4, '256x320')
    assert t.iterations == 300


def test_classifier_published_fusions_count_as_their_pair(repo_root,
                                                          data_root):
    """The classifier's published fusions have their own folder in the
    counts but the key of the TNO pair they fused."""
    cfg = str(repo_root / 'configs' / 'cpu' / 'msfam_constraint_cpu.py')
    t = training_data(cfg, str(data_root), 'classifier')
    # sources, rule fusions and published fusions of the training split:
    # the split's pairs, nothing else
    assert t.keys == _list_keys(repo_root / 'data' / 'splits'
                                / 'tno_roadscene_train.txt')
    n_tno = sum(k.startswith('tno42/') for k in t.keys)
    assert t.images_per_set['tno42_published_fusions'] == 9 * n_tno
    assert 'tno42/19' not in t.keys  # a held-out pair


def test_unseen_pairs_ignore_reconstruction_only():
    def td(role, keys):
        return TrainingData(role, 'c.py', 0, {}, set(keys), 1, 1, None)
    trained = [td('stage1', ['tno42/01', 'tno42/02', 'tno42/03']),
               td('stage2', ['tno42/02'])]
    keys = ['tno42/01', 'tno42/02', 'tno42/03']
    assert unseen_pairs(keys, trained) == ['tno42/01', 'tno42/03']
    assert pairs_seen(keys, trained) == {
        'stage1': set(keys), 'stage2': {'tno42/02'}}


def test_role_config_errors(tmp_path):
    with pytest.raises(ReportError, match='ROLE=CONFIG'):
        parse_role_config('configs/x.py')
    with pytest.raises(ReportError, match='nope.py'):
        parse_role_config(f'stage2={tmp_path}/nope.py')
    empty = tmp_path / 'empty.py'
    empty.write_text('x = 1\n')
    with pytest.raises(ReportError, match='train_dataloader'):
        training_data(str(empty), str(tmp_path))
