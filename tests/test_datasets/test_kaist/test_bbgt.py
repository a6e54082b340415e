"""KAIST bbGt annotations (msfam_mm.datasets.kaist.bbgt): parsing, on all 2252
real improved test annotation files, and the KAIST 'reasonable' filter."""
import collections

import pytest

from msfam_mm.datasets.kaist import (bbgt_ignore_flags, load_bbgt,
                                     parse_bbgt_lines, read_image_set)
from msfam_mm.datasets.kaist.bbgt import REASONABLE, BBGtObject


# pipelines are built in the mmdet scope
pytestmark = pytest.mark.usefixtures('mmdet_scope')


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


def test_all_improved_test_annotations_parse(kaist_improved_annotations,
                                             kaist_improved_counts):
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
    assert len(frames) == kaist_improved_counts['frames']
    assert sum(labels.values()) == kaist_improved_counts['boxes']
    assert dict(labels) == kaist_improved_counts['labels']
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
