"""msfam_mm.evaluation.fusion_report.methods: the report's rows and where
their fused images are."""
import pytest

import msfam_mm.apis  # noqa: F401  (registers the fusers)
from msfam_mm.evaluation.fusion_report.methods import (
    Method, classic_baselines, classifier_groups, parse_ablation,
    published_methods, select)
from msfam_mm.evaluation.fusion_report.protocols import ReportError
from msfam_mm.registry import FUSERS
from msfam_mm.utils.hashing import file_sha256


def test_learned_methods_are_foldered_by_their_weights(repo_root,
                                                       tmp_path):
    ckpt = repo_root / 'checkpoints' / 'msfam_cpu_stage2_fp16.pth'
    m = Method('MSFAM (shipped)', 'msfam', 'c.py', str(ckpt))
    assert m.slug == 'MSFAM__shipped_-' + file_sha256(ckpt)[:12]
    assert m.fused_path('w', 'tno42/05') == \
        f'w/fused/{m.slug}/tno42/05.png'
    folder = tmp_path / 'pub'
    folder.mkdir()
    (folder / '05.jpg').write_bytes(b'x')
    pub = Method('P', folder=str(folder), kind='published')
    assert pub.fused_path('w', 'tno42/05') == str(folder / '05.jpg')
    assert pub.fused_path('w', 'tno42/06') == str(folder / '06.png')


def test_classic_baselines_one_per_class():
    names = [m.name for m in classic_baselines(list(FUSERS.module_dict),
                                               FUSERS)]
    assert 'baseline: max' in names and 'baseline: choose_max' not in names
    assert not any('msfam' in n for n in names)
    assert names == sorted(names)


def test_parse_ablation_and_published(repo_root, tmp_path, data_root):
    with pytest.raises(ReportError, match='NAME=METHOD'):
        parse_ablation('no-equals-sign')
    with pytest.raises(ReportError, match='does not exist'):
        parse_ablation('x=msfam:configs/nope.py:nope.pth')
    cfg = repo_root / 'configs' / 'msfam_stage2.py'
    ckpt = repo_root / 'checkpoints' / 'msfam_cpu_stage2_fp16.pth'
    m = parse_ablation(f'P only=msfam:{cfg}:{ckpt}')
    assert (m.name, m.fuser, m.kind) == ('P only', 'msfam', 'ablation')
    pub = published_methods(str(data_root))
    assert len(pub) == 9 and all(m.kind == 'published' for m in pub)
    with pytest.raises(ReportError, match='DenseFuse'):
        published_methods(str(tmp_path))


def test_classifier_groups():
    own = Method('avg', 'average')
    pub = [Method(p, folder=f'/pub/{p}', kind='published')
           for p in ('A', 'B')]
    groups = classifier_groups([own] + pub, ['tno42/05', 'roadscene221/x'],
                               'w')
    assert groups['avg'] == ['w/fused/avg/tno42/05.png',
                             'w/fused/avg/roadscene221/x.png']
    # the published fusions exist for TNO pairs only
    assert groups['published'] == ['/pub/A/05.png', '/pub/B/05.png']
    assert 'published' not in classifier_groups(pub, ['roadscene221/x'],
                                                'w')


def test_select_keeps_the_order_given():
    ms = [Method(n, folder=f'/pub/{n}') for n in ('A', 'B', 'C')]
    assert [m.name for m in select(ms, 'C,A')] == ['C', 'A']
    with pytest.raises(ReportError, match="'A,Nope': Nope unknown"):
        select(ms, 'A,Nope')
