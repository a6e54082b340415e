"""The fusion data sets (msfam_mm.datasets.fusion): the train/test split of
the pairs, PairedFusionDataset, SingleBandImageDataset and
PublishedFusionDataset on the real TNO/RoadScene data."""
import os.path as osp

import pytest
import torch

from msfam_mm.datasets.fusion import (PairedFusionDataset,
                                      PublishedFusionDataset,
                                      SingleBandImageDataset, make_pair_split,
                                      read_list_file, scene_set_of)


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


PAIR_PIPELINE = [
    dict(type='LoadGreyImage', keys=('vis', 'ir')),
    dict(type='PackFusionInputs', keys=('vis', 'ir')),
]


# --------------------------------------------------------------- datasets --
def test_split_is_deterministic_and_matches_committed_files(
        data_root, repo_root):
    folders = [('tno42/vi', 'tno42/ir'),
               ('roadscene221/vi', 'roadscene221/ir')]
    split = make_pair_split(str(data_root), folders, test_ratio=0.1, seed=0)
    assert split == make_pair_split(str(data_root), folders[::-1], 0.1, 0)
    assert (len(split['train']), len(split['test'])) == (237, 26)
    assert not set(split['train']) & set(split['test'])
    for part in ('train', 'test'):
        committed = read_list_file(
            str(repo_root / 'data' / 'splits' / f'tno_roadscene_{part}.txt'),
            str(data_root), columns=2)
        rel = [tuple(osp.relpath(p, data_root) for p in pair)
               for pair in committed]
        assert rel == split[part]
    other = make_pair_split(str(data_root), folders, 0.1, seed=1)
    assert other['test'] != split['test']


def test_split_refuses_what_would_leak_into_test(data_root, tmp_path):
    """A folder pair given twice (under another spelling), a visible folder
    used as infrared, or the same files under a second name would put the
    same images in train and test."""
    with pytest.raises(ValueError, match='given twice'):
        make_pair_split(str(data_root), [('tno42/vi', 'tno42/ir'),
                                         ('./tno42/vi', 'tno42/ir/')])
    with pytest.raises(ValueError, match='are the same'):
        make_pair_split(str(data_root), [('tno42/vi', 'tno42/vi')])
    root = tmp_path / 'root'
    root.mkdir()
    for name in ('a', 'b'):  # one data set linked under two names
        (root / name).symlink_to(data_root / 'tno42')
    with pytest.raises(ValueError, match='given twice'):
        make_pair_split(str(root), [('a/vi', 'a/ir'), ('b/vi', 'b/ir')])
    # the same files in other pairs (bands swapped)
    with pytest.raises(ValueError, match=r'image\(s\) would be in train '
                                         'and test alike'):
        make_pair_split(str(root), [('a/vi', 'a/ir'), ('b/ir', 'b/vi')])


def test_paired_dataset_from_split_and_from_folders(data_root, repo_root):
    ds = PairedFusionDataset(
        data_root=str(data_root),
        ann_file=str(repo_root / 'data/splits/tno_roadscene_test.txt'),
        pipeline=PAIR_PIPELINE)
    assert len(ds) == 26
    sample = ds[0]
    vis, ir = sample['inputs']['vis'], sample['inputs']['ir']
    assert vis.shape == ir.shape and vis.dtype == torch.uint8
    meta = sample['data_samples'].metainfo
    assert osp.basename(meta['vis_path']) == osp.basename(meta['ir_path'])
    assert meta['img_path'] == meta['vis_path']
    folders = PairedFusionDataset(data_root=str(data_root),
                                  vis_dirs='tno42/vi', ir_dirs='tno42/ir')
    assert len(folders) == 42
    info = folders.get_data_info(4)
    assert info['vis_path'].endswith('vi/05.png')
    assert info['ir_path'].endswith('ir/05.png')


def test_paired_dataset_missing_counterpart_is_named(tmp_path, tno42):
    (tmp_path / 'vi').mkdir()
    (tmp_path / 'ir').mkdir()
    for name in ('01.png', '02.png'):
        (tmp_path / 'vi' / name).symlink_to(tno42 / 'vi' / name)
    (tmp_path / 'ir' / '01.png').symlink_to(tno42 / 'ir' / '01.png')
    with pytest.raises(FileNotFoundError, match=r'02\.png.*no infrared'):
        PairedFusionDataset(data_root=str(tmp_path), vis_dirs='vi',
                            ir_dirs='ir')
    lst = tmp_path / 'pairs.txt'
    lst.write_text('vi/01.png ir/01.png\nvi/02.png ir/02.png\n')
    with pytest.raises(FileNotFoundError, match=r'pairs.txt:2.*ir/02.png'):
        PairedFusionDataset(data_root=str(tmp_path), ann_file=str(lst))


def test_single_band_and_published_datasets(data_root, repo_root,
                                            tmp_path):
    train = str(repo_root / 'data/splits/tno_roadscene_train.txt')
    both = SingleBandImageDataset(data_root=str(data_root), ann_file=train)
    vis = SingleBandImageDataset(data_root=str(data_root), ann_file=train,
                                 column=0, label=(1, 0))
    assert len(both) == 2 * len(vis) == 2 * 237
    assert vis.get_data_info(0)['gt_label'] == [1., 0.]
    assert '/vi/' in vis.get_data_info(0)['img_path']
    test = str(repo_root / 'data/splits/tno_roadscene_test.txt')
    pub = PublishedFusionDataset(data_root=str(data_root),
                                 pairs_ann_file=test, label=(1, 1))
    n_tno_test = sum('tno42/' in line for line in open(test)
                     if not line.startswith('#'))
    assert len(pub) == 9 * n_tno_test
    stems = {osp.basename(pub.get_data_info(i)['img_path'])
             for i in range(len(pub))}
    test_stems = {osp.basename(p.split()[0]) for p in open(test)
                  if p.startswith('tno42/')}
    assert stems == test_stems
    # the same list with the files' real absolute paths (data_root links
    # to them) selects the same fusions
    absolute = tmp_path / 'abs.txt'
    absolute.write_text(''.join(
        f'{osp.realpath(data_root / v)} {osp.realpath(data_root / i)}\n'
        for v, i in
        (line.split() for line in open(test) if not line.startswith('#'))))
    again = PublishedFusionDataset(data_root=str(data_root),
                                   pairs_ann_file=str(absolute))
    assert len(again) == len(pub)
    # a split without TNO pairs: a clear error, not mmengine's packing one
    road = tmp_path / 'road.txt'
    road.write_text(''.join(line for line in open(test)
                            if line.startswith('roadscene221/')))
    with pytest.raises(ValueError, match=r'no pair of .*road\.txt.*'
                                         r'source_dir'):
        PublishedFusionDataset(data_root=str(data_root),
                               pairs_ann_file=str(road))


def test_scene_set_of_paths_inside_and_outside_the_data_root(tmp_path):
    assert scene_set_of('data/tno42/vi/05.png', 'data/') == 'tno42'
    # an absolute list entry elsewhere: the folder above the band folder
    outside = str(tmp_path / 'elsewhere' / 'roadscene221' / 'ir' / 'a.jpg')
    assert scene_set_of(outside, 'data/') == 'roadscene221'
