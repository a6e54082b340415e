"""LabelBalancedSampler: every gt_label drawn equally often, reproducibly,
and with the same mix of data sets, from the real classifier training
data (visible, infrared, fused)."""
from collections import Counter

import pytest
from mmengine.dataset import ConcatDataset

import msfam_mm  # noqa: F401  (registers everything)
from msfam_mm.datasets import (PairedFusionDataset, PublishedFusionDataset,
                               SingleBandImageDataset)
from msfam_mm.datasets.samplers import LabelBalancedSampler, sample_keys
from msfam_mm.registry import DATA_SAMPLERS

# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')

VIS, IR, FUSED = (1., 0.), (0., 1.), (1., 1.)


def _classifier_sources(root, pairs):
    """The classifier's sources as its config builds them: visible,
    infrared, rule-fused pairs and the published fusions in ``root/pub``."""
    common = dict(data_root=str(root), ann_file=str(pairs), lazy_init=False)
    return ConcatDataset([
        SingleBandImageDataset(column=0, label=VIS, **common),
        SingleBandImageDataset(column=1, label=IR, **common),
        PairedFusionDataset(label=FUSED, **common),
        PublishedFusionDataset(data_root=str(root), fusion_root='pub',
                               pairs_ann_file=str(pairs), label=FUSED),
    ])


@pytest.fixture(scope='module')
def classifier_data(tmp_path_factory, tno42, tno42_fusions):
    """The classifier's three sources on TNO-42: 42 visible, 42 infrared,
    42 rule-fused pairs and 9 x 42 published fusions (fused: 420 of 504)."""
    root = tmp_path_factory.mktemp('data')
    (root / 'tno42').symlink_to(tno42)
    (root / 'pub').symlink_to(tno42_fusions)
    pairs = root / 'pairs.txt'
    stems = sorted(p.stem for p in (tno42 / 'vi').glob('*.png'))
    pairs.write_text(''.join(f'tno42/vi/{s}.png tno42/ir/{s}.png\n'
                             for s in stems))
    return _classifier_sources(root, pairs)


def label_of(dataset, i):
    return sample_keys(dataset, i)[0]


def test_draws_each_label_about_equally(classifier_data):
    counts = Counter(label_of(classifier_data, i)
                     for i in range(len(classifier_data)))
    assert counts[FUSED] > 4 * counts[VIS]  # the imbalance it corrects
    sampler = LabelBalancedSampler(classifier_data, seed=0)
    drawn = Counter()
    for epoch in range(8):
        sampler.set_epoch(epoch)
        indices = list(sampler)
        assert len(indices) == len(sampler) == len(classifier_data)
        drawn.update(label_of(classifier_data, i) for i in indices)
    total = sum(drawn.values())
    for label in (VIS, IR, FUSED):
        assert abs(drawn[label] / total - 1 / 3) < 0.03, drawn


def test_reproducible_per_seed_and_epoch(classifier_data):
    a = LabelBalancedSampler(classifier_data, seed=3)
    b = DATA_SAMPLERS.build(dict(type='LabelBalancedSampler', seed=3),
                            default_args=dict(dataset=classifier_data))
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    a.set_epoch(0)
    assert list(a) == first


def test_sample_without_label_is_a_clear_error(tno42):
    ds = SingleBandImageDataset(data_root=str(tno42.parent),
                                img_dirs=['tno42/vi'], lazy_init=False)
    with pytest.raises(ValueError, match='no gt_label'):
        LabelBalancedSampler(ds, seed=0)


@pytest.fixture(scope='module')
def two_set_data(tmp_path_factory, tno42, tno42_fusions, roadscene221):
    """The real classifier mix: TNO and RoadScene pairs, published fusions
    of TNO only, so the fused label is mostly TNO."""
    root = tmp_path_factory.mktemp('data2')
    (root / 'tno42').symlink_to(tno42)
    (root / 'roadscene221').symlink_to(roadscene221)
    (root / 'pub').symlink_to(tno42_fusions)
    pairs = root / 'pairs.txt'
    tno = sorted(p.stem for p in (tno42 / 'vi').glob('*.png'))[:10]
    rs = sorted(p.name for p in (roadscene221 / 'vi').glob('*.jpg'))[:40]
    pairs.write_text(
        ''.join(f'tno42/vi/{s}.png tno42/ir/{s}.png\n' for s in tno)
        + ''.join(f'roadscene221/vi/{n} roadscene221/ir/{n}\n' for n in rs))
    return _classifier_sources(root, pairs)


def _tno_share(dataset, indices, label):
    keys = [sample_keys(dataset, i) for i in indices]
    chosen = [scene for lbl, scene in keys if lbl == label]
    return sum(scene == 'tno42' for scene in chosen) / len(chosen)


def test_match_scene_sets_removes_the_tno_means_fused_shortcut(
        two_set_data):
    every = range(len(two_set_data))
    assert {sample_keys(two_set_data, i)[1] for i in every} == {
        'tno42', 'roadscene221'}
    # data as it is: 100 of 140 fused images are TNO, 10 of 50 visible
    assert _tno_share(two_set_data, every, FUSED) > 0.7
    assert _tno_share(two_set_data, every, VIS) == pytest.approx(0.2)
    plain = LabelBalancedSampler(two_set_data, seed=0)
    matched = LabelBalancedSampler(two_set_data, seed=0,
                                   match_scene_sets=True)
    draws = {}
    for name, sampler in (('plain', plain), ('matched', matched)):
        idx = []
        for epoch in range(10):
            sampler.set_epoch(epoch)
            idx += list(sampler)
        draws[name] = idx
    assert _tno_share(two_set_data, draws['plain'], FUSED) > 0.6
    shares = [_tno_share(two_set_data, draws['matched'], lbl)
              for lbl in (VIS, IR, FUSED)]
    # every label: the mean of the three mixes, (0.2 + 0.2 + 0.71) / 3
    for share in shares:
        assert share == pytest.approx(0.37, abs=0.05), shares
    counts = Counter(label_of(two_set_data, i) for i in draws['matched'])
    for label in (VIS, IR, FUSED):
        assert abs(counts[label] / len(draws['matched']) - 1 / 3) < 0.03
