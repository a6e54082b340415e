"""KAIST data: frame ids, bbGt parsing (on all 2252 real improved test
annotation files), the KAIST filter, KAISTDataset and kaist2coco."""
import collections
import json
import os.path as osp

import numpy as np
import pytest

from msfam_mm.datasets.kaist import (bbgt_ignore_flags,
                                     coco_to_kaist_frames, frame_condition,
                                     frame_to_img_id, img_id_to_frame,
                                     kaist_to_coco, load_bbgt,
                                     normalize_frame_id, parse_bbgt_lines,
                                     read_image_set)
from msfam_mm.datasets.kaist.bbgt import REASONABLE, BBGtObject
from msfam_mm.detection import KAISTDataset

# pipelines are built in the mmdet scope
pytestmark = pytest.mark.usefixtures('mmdet_scope')

# Published counts of the improved KAIST test annotations (Liu et al.,
# BMVC 2016), as stated in ../shared/data/README.md and measured once.
IMPROVED_FRAMES = 2252
IMPROVED_BOXES = 4254
IMPROVED_LABELS = {'person': 3390, 'people': 597, 'person?': 177,
                   'cyclist': 90}


# --------------------------------------------------------------- frame ids
def test_frame_id_mapping_roundtrip_and_forms():
    assert frame_to_img_id('set06/V001/I00459') == 60100459
    assert img_id_to_frame(60100459) == 'set06/V001/I00459'
    assert normalize_frame_id('set06_V001_I00459.txt') == 'set06/V001/I00459'
    assert frame_to_img_id('set11/V001/I03279') == 110103279
    ids = {frame_to_img_id(f'set{s:02d}/V{v:03d}/I{i:05d}')
           for s in (0, 6, 11) for v in (0, 4) for i in (0, 19, 99999)}
    assert len(ids) == 18  # injective
    for bad in ('set06/V001', 'foo/V000/I00001', 'set06/V100/I00001'):
        with pytest.raises(ValueError, match='KAIST frame id|video must'):
            frame_to_img_id(bad)


def test_day_night_by_set_number_matches_official_lists(
        kaist_improved_annotations):
    sets = kaist_improved_annotations / 'imageSets'
    day = read_image_set(str(sets / 'test-day-20.txt'))
    night = read_image_set(str(sets / 'test-night-20.txt'))
    every = read_image_set(str(sets / 'test-all-20.txt'))
    assert (len(every), len(day), len(night)) == (IMPROVED_FRAMES, 1455, 797)
    assert set(day) | set(night) == set(every)
    assert all(frame_condition(f) == 'day' for f in day)
    assert all(frame_condition(f) == 'night' for f in night)
    train = read_image_set(str(sets / 'train-all-02.txt'))
    assert len(train) == 25086  # KAIST's standard training list
    assert {frame_to_img_id(f) // 10**7 for f in train} == set(range(6))


def test_read_image_set_errors_name_file_and_line(tmp_path):
    path = tmp_path / 'list.txt'
    path.write_text('set06/V000/I00019\nset06/V000/oops\n')
    with pytest.raises(ValueError, match=r'list\.txt, line 2'):
        read_image_set(str(path))
    path.write_text('set06/V000/I00019\nset06_V000_I00019\n')
    with pytest.raises(ValueError, match='duplicate'):
        read_image_set(str(path))
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        read_image_set(str(tmp_path / 'missing.txt'))


# ------------------------------------------------------------- bbGt parser
def test_parse_bbgt_full_and_tolerant_lines():
    objs = parse_bbgt_lines([
        '% bbGt version=3',
        'person 505 212 20 50 1 500 210 10 20 0 0',
        '',
        'people 1.5 2 30 40',            # short line: defaults filled in
        'person? 10 20 30 40 2 0 0 0 0 1',  # version-2 style, ign set
    ])
    assert [o.label for o in objs] == ['person', 'people', 'person?']
    assert objs[0].xyxy() == [505, 212, 525, 262]
    assert objs[0].occlusion == 1 and objs[0].visible_box == (500, 210, 10,
                                                             20)
    assert objs[1].x == 1.5 and objs[1].occlusion == 0 and objs[1].ignore == 0
    assert objs[2].ignore == 1 and objs[2].occlusion == 2
    assert parse_bbgt_lines(['% bbGt version=3']) == []


@pytest.mark.parametrize('line,match', [
    ('person 1 2 3', 'at least 5 fields'),
    ('person 1 2 three 4 0 0 0 0 0 0 0', 'non-numeric'),
    ('person 1 2 -3 4 0 0 0 0 0 0 0', 'negative box size'),
    ('person 1 2 3 4 0 0 0 0 0 0 0 7', 'at most 12'),
    ('person 1 2 nan 4', 'non-finite'),
])
def test_parse_bbgt_malformed_lines_name_file_and_line(line, match):
    with pytest.raises(ValueError, match=f'ann.txt, line 2: .*{match}'):
        parse_bbgt_lines(['% bbGt version=3', line], source='ann.txt')


def test_parse_bbgt_unknown_version():
    with pytest.raises(ValueError, match='unknown bbGt version 7'):
        parse_bbgt_lines(['% bbGt version=7'], source='x.txt')


def test_all_improved_test_annotations_parse(kaist_improved_annotations):
    frames = read_image_set(
        str(kaist_improved_annotations / 'imageSets' / 'test-all-20.txt'))
    labels, occ, ign, empty, heights = (collections.Counter(),
                                        collections.Counter(), 0, 0, [])
    for frame in frames:
        objs = load_bbgt(
            str(kaist_improved_annotations / 'annotations' / (frame +
                                                              '.txt')))
        empty += not objs
        for o in objs:
            labels[o.label] += 1
            occ[o.occlusion] += 1
            ign += o.ignore
            heights.append(o.h)
    assert len(frames) == IMPROVED_FRAMES
    assert sum(labels.values()) == IMPROVED_BOXES
    assert dict(labels) == IMPROVED_LABELS
    assert dict(occ) == {0: 3452, 1: 534, 2: 268}
    assert ign == 0  # no object carries the file's ign flag
    assert empty == 852  # frames without any object
    assert min(heights) > 0


def test_kaist_filter_reasonable_rules():
    objs = [
        BBGtObject('person', 100, 100, 30, 80),             # reasonable
        BBGtObject('person', 100, 100, 20, 54),             # too small
        BBGtObject('person', 100, 100, 30, 80, 2),          # heavy occ.
        BBGtObject('person', 100, 100, 30, 80, 1),          # partial: ok
        BBGtObject('person', 3, 100, 30, 80),               # in border
        BBGtObject('person', 600, 100, 36, 80),             # x2 636 > 635
        BBGtObject('people', 200, 100, 60, 80),             # ignore label
        BBGtObject('cyclist', 300, 100, 30, 80),
        BBGtObject('person?', 400, 100, 30, 80),
        BBGtObject('car', 400, 100, 30, 80),                # dropped
        BBGtObject('person', 100, 100, 30, 80, ignore=1),   # file ign
    ]
    keep, ign = bbgt_ignore_flags(objs, (640, 512), **REASONABLE)
    assert keep.tolist() == [True] * 9 + [False, True]
    assert ign.tolist() == [False, True, True, False, True, True, True,
                            True, True, False, True]
    # no filter: every person is a target, other labels are ignore regions
    keep, ign = bbgt_ignore_flags(objs, (640, 512))
    assert ign[:6].tolist() == [False] * 6 and ign[6:9].all()


# ---------------------------------------------------------------- dataset
def _sample_ds(kaist_sample, **kwargs):
    kwargs.setdefault('test_mode', True)
    return KAISTDataset(data_root=str(kaist_sample),
                        image_set='imageSets/sample-all.txt', **kwargs)


def test_dataset_reads_official_layout(kaist_sample):
    ds = _sample_ds(kaist_sample, modality='lwir')
    assert len(ds) == 13 and ds.metainfo['classes'] == ('person', )
    exts = set()
    boxes = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert osp.isfile(info['img_path'])
        assert osp.basename(osp.dirname(info['img_path'])) == 'lwir'
        exts.add(osp.splitext(info['img_path'])[1])
        assert info['img_id'] == frame_to_img_id(info['frame_id'])
        assert (info['width'], info['height']) == (640, 512)
        for inst in info['instances']:
            x1, y1, x2, y2 = inst['bbox']
            assert x2 > x1 and y2 > y1 and inst['bbox_label'] == 0
            assert inst['ignore_flag'] == int(inst['kaist_label'] != 'person')
            boxes += 1
    assert exts == {'.jpg', '.png'}  # resolved per frame
    assert boxes == 79


def test_dataset_reasonable_filter_and_empty_gt(kaist_sample):
    full = _sample_ds(kaist_sample)
    reasonable = _sample_ds(kaist_sample, reasonable_filter=dict())
    n_pos = [sum(i['ignore_flag'] == 0 for i in ds.get_data_info(k)[
        'instances']) for ds in (full, reasonable) for k in range(len(ds))]
    assert sum(n_pos[13:]) < sum(n_pos[:13])
    info = reasonable.get_data_info(4)  # set08/V001/I02579: 19 boxes
    for inst in info['instances']:
        x1, y1, x2, y2 = inst['bbox']
        bad = (inst['kaist_label'] != 'person' or y2 - y1 < 55
               or inst['occlusion'] > 1 or x1 < 5 or x2 > 635 or y1 < 5
               or y2 > 507)
        assert inst['ignore_flag'] == int(bad)
    train = _sample_ds(kaist_sample, test_mode=False,
                       reasonable_filter=dict(),
                       filter_cfg=dict(filter_empty_gt=True))
    assert len(train) == sum(1 for k in range(13) if n_pos[13 + k] > 0)
    with pytest.raises(ValueError, match='unknown reasonable_filter keys'):
        _sample_ds(kaist_sample, reasonable_filter=dict(min_hight=50))


def test_dataset_errors_name_the_problem(kaist_sample, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'fused_msfam/I\d{5}'):
        _sample_ds(kaist_sample, modality='fused_msfam')
    with pytest.raises(ValueError, match='one folder name'):
        _sample_ds(kaist_sample, modality='../lwir')
    # a malformed annotation line names its file
    root = tmp_path / 'kaist'
    (root / 'images/set06/V000/visible').mkdir(parents=True)
    (root / 'annotations/set06/V000').mkdir(parents=True)
    (root / 'imageSets').mkdir()
    import cv2
    cv2.imwrite(str(root / 'images/set06/V000/visible/I00019.png'),
                np.zeros((8, 10, 3), np.uint8))
    (root / 'annotations/set06/V000/I00019.txt').write_text(
        '% bbGt version=3\nperson 1 2 x 4 0 0 0 0 0 0 0\n')
    (root / 'imageSets/l.txt').write_text('set06/V000/I00019\n')
    with pytest.raises(ValueError, match=r'I00019\.txt, line 2'):
        KAISTDataset(data_root=str(root), image_set='imageSets/l.txt')


def test_dataset_pipeline_moves_ignore_to_ignored_instances(kaist_sample):
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackDetInputs')]
    ds = _sample_ds(kaist_sample, modality='lwir', pipeline=pipeline)
    out = ds[4]
    info = ds.get_data_info(4)
    n_ign = sum(i['ignore_flag'] for i in info['instances'])
    assert out['inputs'].shape == (3, 512, 640)  # grey lwir -> 3 channels
    sample = out['data_samples']
    assert len(sample.ignored_instances) == n_ign
    assert len(sample.gt_instances) == len(info['instances']) - n_ign
    assert sample.img_id == info['img_id']


# -------------------------------------------------------------- kaist2coco
def test_kaist2coco_tool_on_improved_annotations(kaist_improved_annotations,
                                                 tmp_path, repo_root, capsys,
                                                 load_tool):
    tool = load_tool('kaist2coco')
    out = tmp_path / 'test-all-20.json'
    assert tool.main([str(kaist_improved_annotations), '--image-set',
                      'imageSets/test-all-20.txt', '--out', str(out)]) == 0
    assert '2252 frames, 4254 boxes (864 ignore regions)' in \
        capsys.readouterr().out
    # bad input: a clear error, exit code 2, and no output file
    bad = tmp_path / 'bad.json'
    assert tool.main([str(kaist_improved_annotations), '--image-set',
                      'imageSets/nope.txt', '--out', str(bad)]) == 2
    assert 'nope.txt does not exist' in capsys.readouterr().err
    assert not bad.exists()
    coco = json.loads(out.read_text())
    assert len(coco['images']) == IMPROVED_FRAMES
    assert coco['categories'] == [dict(id=1, name='person',
                                       supercategory='person')]
    labels = collections.Counter(a['kaist_label']
                                 for a in coco['annotations'])
    assert dict(labels) == IMPROVED_LABELS
    for a in coco['annotations']:
        assert a['iscrowd'] == int(a['kaist_label'] != 'person')
        assert a['height'] == a['bbox'][3] and 'occlusion' in a
        assert 'ignore' not in a  # mmdet would drop the box entirely
    assert {i['id'] for i in coco['images']} == {
        frame_to_img_id(i['frame_id']) for i in coco['images']}
    # the json reads back to the same objects
    back = coco_to_kaist_frames(coco)
    frame = 'set08/V001/I02579'
    objs = load_bbgt(str(kaist_improved_annotations / 'annotations' /
                         (frame + '.txt')))
    assert back[frame_to_img_id(frame)][2] == objs


def test_kaist2coco_json_loads_in_mmdet_coco_dataset(kaist_sample,
                                                     tmp_path):
    from mmdet.datasets import CocoDataset
    frames = read_image_set(str(kaist_sample / 'imageSets' /
                                'sample-all.txt'))
    coco = kaist_to_coco(str(kaist_sample), frames, modality='lwir',
                         require_images=True)
    path = tmp_path / 'sample.json'
    path.write_text(json.dumps(coco))
    ds = CocoDataset(data_root=str(kaist_sample), ann_file=str(path),
                     data_prefix=dict(img=''), metainfo=dict(
                         classes=('person', )), test_mode=True)
    ours = KAISTDataset(data_root=str(kaist_sample),
                        image_set='imageSets/sample-all.txt',
                        modality='lwir', test_mode=True)
    theirs = {ds.get_data_info(i)['img_id']: ds.get_data_info(i)
              for i in range(len(ds))}
    for i in range(len(ours)):
        a = ours.get_data_info(i)
        b = theirs[a['img_id']]
        assert osp.normpath(b['img_path']) == osp.normpath(a['img_path'])
        assert [x['ignore_flag'] for x in b['instances']] == \
            [x['ignore_flag'] for x in a['instances']]
        np.testing.assert_allclose([x['bbox'] for x in b['instances']],
                                   [x['bbox'] for x in a['instances']])
