"""KAIST bbGt annotations (msfam_mm.datasets.kaist.bbgt): parsing, on all 2252
real improved test annotation files, and the KAIST 'reasonable' filter."""
import collections

import pytest

from msfam_mm.datasets.kaist import (bbgt_ignore_flags, frame_condition,
                                     frame_to_img_id, load_bbgt,
                                     parse_bbgt_lines, read_image_set)
from msfam_mm.datasets.kaist.bbgt import REASONABLE, BBGtObject


# pipelines are built in the mmdet scope
pytestmark = pytest.mark.usefixtures('mmdet_scope')


# Published counts of the improved KAIST test annotations (Liu et al.,
# BMVC 2016), as stated in ../shared/data/README.md and measured once.
IMPROVED_FRAMES = 2252
IMPROVED_BOXES = 4254
IMPROVED_LABELS = {'person': 3390, 'people': 597, 'person?': 177,
                   'cyclist': 90}


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
