"""Datasets, synced transforms, split and preprocessing of the fusion data."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from msfam_mm.datasets.fusion import (PairedFusionDataset,
                                      PublishedFusionDataset,
                                      SingleBandImageDataset, make_pair_split,
                                      read_list_file, scene_set_of)
from msfam_mm.datasets.transforms import (LoadGreyImage, PackFusionInputs,
                                          RandomRuleFusion, SyncedCenterCrop,
                                          SyncedRandomCrop, SyncedRandomFlip,
                                          fuse_max, fuse_two_scale,
                                          fuse_weighted_average)
from msfam_mm.evaluation.classification import (ClassifierAccuracyMetric,
                                                multilabel_accuracy)
from msfam_mm.models.data_preprocessors import FusionDataPreprocessor

# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')

PAIR_PIPELINE = [
    dict(type='LoadGreyImage', keys=('vis', 'ir')),
    dict(type='PackFusionInputs', keys=('vis', 'ir')),
]


@pytest.fixture
def data_root(tmp_path, tno42, roadscene221):
    """A data root laid out as data/README.md says (symlinks)."""
    root = tmp_path / 'data'
    root.mkdir()
    (root / 'tno42').symlink_to(tno42)
    (root / 'roadscene221').symlink_to(roadscene221)
    return root


# ---------------------------------------------------------------- loading --
def test_load_grey_image_converts_colour_and_3channel_grey(tno42,
                                                           roadscene221):
    vis_rgb = sorted((roadscene221 / 'vi').iterdir())[0]
    out = LoadGreyImage(keys=('img', ))(dict(img_path=str(vis_rgb)))
    bgr = cv2.imread(str(vis_rgb), cv2.IMREAD_COLOR)
    assert out['img'].dtype == np.uint8 and out['img'].ndim == 2
    np.testing.assert_array_equal(out['img'],
                                  cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    assert out['ori_shape'] == bgr.shape[:2]
    # TNO infrared 01 is stored 3-channel grey: the grey values survive
    ir = tno42 / 'ir' / '01.png'
    raw = cv2.imread(str(ir), cv2.IMREAD_UNCHANGED)
    assert raw.ndim == 3
    out = LoadGreyImage(keys=('img', ))(dict(img_path=str(ir)))
    np.testing.assert_array_equal(out['img'], raw[..., 0])


def test_load_grey_image_errors_name_the_file(tmp_path, tno42):
    missing = tmp_path / 'nope.png'
    with pytest.raises(FileNotFoundError, match='nope.png'):
        LoadGreyImage()(dict(img_path=str(missing)))
    corrupt = tmp_path / 'corrupt.png'
    corrupt.write_bytes(b'not an image at all')
    with pytest.raises(ValueError, match='corrupt.png'):
        LoadGreyImage()(dict(img_path=str(corrupt)))
    # misaligned "pair": 768x576 vs 280x280
    with pytest.raises(ValueError, match='aligned'):
        LoadGreyImage(keys=('vis', 'ir'))(dict(
            vis_path=str(tno42 / 'vi' / '01.png'),
            ir_path=str(tno42 / 'ir' / '05.png')))


# ------------------------------------------------------ synced transforms --
def test_synced_crop_and_flip_apply_the_same_geometry(tno42):
    res = LoadGreyImage(keys=('vis', 'ir'))(dict(
        vis_path=str(tno42 / 'vi' / '01.png'),
        ir_path=str(tno42 / 'ir' / '01.png')))
    vis = res['vis'].copy()
    # ir := a pixel-wise function of vis, so identical geometry keeps it so
    res['ir'] = (255 - vis).astype(np.uint8)
    np.random.seed(3)
    res = SyncedRandomCrop(crop_size=(64, 96))(res)
    assert res['vis'].shape == res['ir'].shape == (64, 96)
    x1, y1, x2, y2 = res['crop_bbox']
    np.testing.assert_array_equal(res['vis'], vis[y1:y2, x1:x2])
    res = SyncedRandomFlip(hflip_prob=1., vflip_prob=1.)(res)
    np.testing.assert_array_equal(res['vis'], vis[y1:y2, x1:x2][::-1, ::-1])
    np.testing.assert_array_equal(res['ir'], 255 - res['vis'])
    assert res['flip'] == (True, True)


def test_synced_crop_pads_small_images_by_reflection(tno42):
    # TNO pair 05 is 280x280, smaller than the paper's 320-pixel width
    res = LoadGreyImage(keys=('vis', 'ir'))(dict(
        vis_path=str(tno42 / 'vi' / '05.png'),
        ir_path=str(tno42 / 'ir' / '05.png')))
    assert res['vis'].shape == (280, 280)
    vis = res['vis'].copy()
    res = SyncedRandomCrop(crop_size=(256, 320))(res)
    assert res['vis'].shape == res['ir'].shape == (256, 320)
    padded = np.pad(vis, ((0, 0), (0, 40)), mode='reflect')
    x1, y1, x2, y2 = res['crop_bbox']
    np.testing.assert_array_equal(res['vis'], padded[y1:y2, x1:x2])


def test_transform_argument_checks():
    for crop in (SyncedRandomCrop, SyncedCenterCrop):
        with pytest.raises(ValueError, match=f'{crop.__name__}: crop_size'):
            crop(crop_size=(0, 10))
        with pytest.raises(TypeError, match='keys'):
            crop(keys='vis')
    with pytest.raises(ValueError, match='hflip_prob'):
        SyncedRandomFlip(hflip_prob=1.5)
    shifted = dict(vis=np.zeros((100, 80), np.uint8),
                   ir=np.zeros((100, 81), np.uint8))
    with pytest.raises(ValueError, match='SyncedCenterCrop: images are not '
                                         'aligned'):
        SyncedCenterCrop(crop_size=(10, 10))(shifted)
    with pytest.raises(ValueError, match='unknown rules'):
        RandomRuleFusion(rules=('median', ))


def test_rule_fusions(tno42):
    res = LoadGreyImage(keys=('vis', 'ir'))(dict(
        vis_path=str(tno42 / 'vi' / '01.png'),
        ir_path=str(tno42 / 'ir' / '01.png')))
    vis, ir = res['vis'], res['ir']
    np.testing.assert_array_equal(fuse_max(vis, ir), np.maximum(vis, ir))
    avg = fuse_weighted_average(vis, ir, 0.5).astype(int)
    assert np.all(np.abs(avg - (vis.astype(int) + ir) / 2) <= 0.5)
    two = fuse_two_scale(vis, ir)
    assert two.dtype == np.uint8 and two.shape == vis.shape
    # the two-scale result keeps details of both: closer to each source
    # than the other source is
    d = lambda a, b: np.abs(a.astype(float) - b).mean()  # noqa: E731
    assert d(two, vis) < d(ir, vis) and d(two, ir) < d(vis, ir)
    out = RandomRuleFusion()(dict(vis=vis, ir=ir))
    assert out['img'].shape == vis.shape
    assert out['fusion_rule'] in RandomRuleFusion.RULES


def test_seeded_rule_fusion_is_fixed_per_pair(tno42):
    """Validation (seed given): each pair is fused the same way at every
    call, wherever the data root lies; different pairs get different rules;
    without a seed the draws vary."""
    load = LoadGreyImage(keys=('vis', 'ir'))
    pairs = [load(dict(vis_path=str(tno42 / 'vi' / f'{k:02d}.png'),
                       ir_path=str(tno42 / 'ir' / f'{k:02d}.png')))
             for k in range(1, 13)]
    fixed = RandomRuleFusion(seed=0)

    def draw(res, transform=fixed):
        out = transform(dict(res))
        return out['fusion_rule'], out['img'].tobytes()

    first = [draw(r) for r in pairs]
    np.random.seed(123)  # the global generator must not matter
    assert [draw(r) for r in pairs] == first
    moved = dict(pairs[0], vis_path='/elsewhere/tno42/vi/01.png')
    assert draw(moved) == first[0]
    assert len({rule for rule, _ in first}) > 1
    other_seed = [draw(r, RandomRuleFusion(seed=1)) for r in pairs]
    assert other_seed != first
    free = RandomRuleFusion()
    assert len({draw(pairs[0], free) for _ in range(30)}) > 1
    with pytest.raises(KeyError, match="'vis_path'"):
        fixed(dict(vis=pairs[0]['vis'], ir=pairs[0]['ir']))


def test_pack_and_preprocess_pairs():
    pack = PackFusionInputs(keys=('vis', 'ir'))
    a = np.full((6, 8), 255, np.uint8)
    b = np.zeros((6, 8), np.uint8)
    packed = [pack(dict(vis=a, ir=b, img_path='x.png', ori_shape=(6, 8)))
              for _ in range(2)]
    assert packed[0]['inputs']['vis'].shape == (1, 6, 8)
    assert packed[0]['data_samples'].img_path == 'x.png'
    batch = dict(inputs=dict(vis=[p['inputs']['vis'] for p in packed],
                             ir=[p['inputs']['ir'] for p in packed]),
                 data_samples=[p['data_samples'] for p in packed])
    out = FusionDataPreprocessor()(batch)
    assert out['inputs']['vis'].shape == (2, 1, 6, 8)
    assert out['inputs']['vis'].dtype == torch.float32
    assert out['inputs']['vis'].max() == 1. and out['inputs']['ir'].max() == 0.
    bad = dict(inputs=[torch.zeros(1, 6, 8, dtype=torch.uint8),
                       torch.zeros(1, 7, 8, dtype=torch.uint8)])
    with pytest.raises(ValueError, match='batch_size=1'):
        FusionDataPreprocessor()(bad)
    labelled = PackFusionInputs(keys=('img', ))(dict(img=a, gt_label=[1, 1]))
    assert labelled['inputs'].shape == (1, 6, 8)
    assert labelled['data_samples'].gt_label.tolist() == [1., 1.]


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
                                            tno42_fusions, tmp_path):
    train = str(repo_root / 'data/splits/tno_roadscene_train.txt')
    both = SingleBandImageDataset(data_root=str(data_root), ann_file=train)
    vis = SingleBandImageDataset(data_root=str(data_root), ann_file=train,
                                 column=0, label=(1, 0))
    assert len(both) == 2 * len(vis) == 2 * 237
    assert vis.get_data_info(0)['gt_label'] == [1., 0.]
    assert '/vi/' in vis.get_data_info(0)['img_path']
    (data_root / 'tno42_published_fusions').symlink_to(tno42_fusions)
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


# ---------------------------------------------------------------- metric --
def test_classifier_accuracy_metric():
    scores = torch.tensor([[.9, .1], [.2, .8], [.7, .6], [.7, .2]])
    labels = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [1., 1.]])
    acc = multilabel_accuracy(scores, labels)
    assert acc == dict(accuracy=75.0, accuracy_vis=100.0, accuracy_ir=75.0)
    metric = ClassifierAccuracyMetric()
    metric.process({}, [dict(pred_score=s, gt_label=t)
                        for s, t in zip(scores, labels)])
    assert metric.compute_metrics(metric.results)['accuracy'] == 75.0
    with pytest.raises(ValueError, match='gt_label'):
        metric.process({}, [dict(pred_score=scores[0], gt_label=None)])


def test_center_crop_is_deterministic():
    img = np.arange(100 * 120, dtype=np.int32).reshape(100, 120)
    crop = SyncedCenterCrop(crop_size=(20, 40), keys=('img', ))
    np.random.seed(1)
    out = crop(dict(img=img.copy()))
    np.random.seed(2)
    assert crop(dict(img=img.copy()))['crop_bbox'] == out['crop_bbox'] \
        == (40, 40, 80, 60)
    np.testing.assert_array_equal(out['img'], img[40:60, 40:80])


def test_center_crop_cuts_the_same_window_of_a_pair_and_pads(tno42):
    """TNO pair 05 (280x280) under the validation crop of the classifier
    (256x320): rows 12-267 of both images, the columns after reflection
    padding by 40 on the right, window from column 0."""
    res = LoadGreyImage(keys=('vis', 'ir'))(dict(
        vis_path=str(tno42 / 'vi' / '05.png'),
        ir_path=str(tno42 / 'ir' / '05.png')))
    vis, ir = res['vis'].copy(), res['ir'].copy()
    out = SyncedCenterCrop(crop_size=(256, 320))(res)
    assert out['crop_bbox'] == (0, 12, 320, 268)
    for key, img in (('vis', vis), ('ir', ir)):
        padded = np.pad(img, ((0, 0), (0, 40)), mode='reflect')
        np.testing.assert_array_equal(out[key], padded[12:268, :320])


def test_training_reader_refuses_truncated_images(roadscene221, tmp_path):
    """Training reads images with inference's checked reader: OpenCV alone
    turns a truncated JPEG into grey rows with only a warning."""
    from msfam_mm.datasets.transforms.loading import read_grey_image
    src = roadscene221 / 'vi' / 'FLIR_00306.jpg'
    cut = tmp_path / 'cut.jpg'
    cut.write_bytes(src.read_bytes()[:20000])
    with pytest.raises(ValueError, match=r'cut\.jpg: truncated JPEG'):
        read_grey_image(str(cut))
    whole = read_grey_image(str(src))
    ref = cv2.cvtColor(cv2.imread(str(src)), cv2.COLOR_BGR2GRAY)
    assert whole.dtype == np.uint8 and np.array_equal(whole, ref)
    with pytest.raises(FileNotFoundError, match='nope.png'):
        read_grey_image(str(tmp_path / 'nope.png'))
