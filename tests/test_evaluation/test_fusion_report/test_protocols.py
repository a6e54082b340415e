"""msfam_mm.evaluation.fusion_report.protocols: which pairs each protocol
tests on (real TNO-42 and the committed split)."""
import pytest

from msfam_mm.evaluation.fusion_report.protocols import (
    PROTOCOLS, ReportError, load_test_sets, pair_key, pixel_count)

SPLIT = 'data/splits/tno_roadscene_test.txt'


@pytest.fixture
def split(repo_root):
    return str(repo_root / SPLIT)


def test_paper_protocol_sets(data_root, split):
    sets = load_test_sets('paper', str(data_root), split)
    assert list(sets) == ['tno42', 'split']
    assert len(sets['tno42']) == 42 and len(sets['split']) == 26
    assert all(k.startswith(('tno42/', 'roadscene221/'))
               for k in sets['split'])
    shared = set(sets['split']) & set(sets['tno42'])
    # the split's TNO pairs are TNO-42 pairs, with the same files
    assert shared == {'tno42/19', 'tno42/23', 'tno42/33'}
    assert all(sets['split'][k] == sets['tno42'][k] for k in shared)
    # smallest first
    sizes = [pixel_count(v) for v, _ in sets['tno42'].values()]
    assert sizes == sorted(sizes)


def test_cross_protocol_is_all_of_tno42(data_root):
    sets = load_test_sets('cross', str(data_root))
    assert list(sets) == ['tno42'] and len(sets['tno42']) == 42
    assert sets['tno42']['tno42/05'] == (str(data_root / 'tno42/vi/05.png'),
                                         str(data_root / 'tno42/ir/05.png'))
    assert PROTOCOLS['cross'].classifier_set == 'tno42'
    assert PROTOCOLS['paper'].classifier_set == 'split'


def test_max_pairs_keeps_split_inside_tno42(data_root, split):
    sets = load_test_sets('paper', str(data_root), split, max_pairs=3)
    assert len(sets['tno42']) == 3 and len(sets['split']) <= 3
    for k in sets['split']:
        assert not k.startswith('tno42/') or k in sets['tno42']
    smallest = load_test_sets('cross', str(data_root), max_pairs=3)
    assert list(smallest['tno42']) == list(sets['tno42'])


def test_bad_inputs_are_named(data_root, split, tmp_path):
    with pytest.raises(ReportError, match="unknown protocol 'nope'"):
        load_test_sets('nope', str(data_root))
    with pytest.raises(ReportError, match='held-out pair list'):
        load_test_sets('paper', str(data_root))
    with pytest.raises(ReportError, match='tno42'):
        load_test_sets('cross', str(tmp_path))
    bad = tmp_path / 'bad.txt'
    bad.write_text('tno42/vi/99.png tno42/ir/99.png\n')
    with pytest.raises(ReportError, match='99.png'):
        load_test_sets('paper', str(data_root), str(bad))


def test_pair_key():
    assert pair_key('/d/roadscene221/vi/FLIR_00006.jpg') == \
        'roadscene221/FLIR_00006'


def test_default_training_configs_exist(repo_root, monkeypatch):
    """The paper protocol names the shipped weights' three configs; every
    default is a file of the repository."""
    from msfam_mm.evaluation.fusion_report.training_data import \
        parse_role_config
    monkeypatch.chdir(repo_root)
    roles = [parse_role_config(s)[0]
             for s in PROTOCOLS['paper'].train_configs]
    assert roles == ['stage1', 'classifier', 'stage2']
    for spec in PROTOCOLS['cross'].train_configs:
        parse_role_config(spec)
