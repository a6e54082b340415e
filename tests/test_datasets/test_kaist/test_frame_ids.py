"""KAIST frame ids (msfam_mm.datasets.kaist.frame_ids): the frame <-> image id
mapping, day/night by set number and image-set lists."""
import pytest

from msfam_mm.datasets.kaist import (frame_condition, frame_to_img_id,
                                     img_id_to_frame, normalize_frame_id,
                                     read_image_set)


# pipelines are built in the mmdet scope
pytestmark = pytest.mark.usefixtures('mmdet_scope')


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


def test_day_night_by_set_number_matches_official_lists(
        kaist_improved_annotations, kaist_improved_counts):
    sets = kaist_improved_annotations / 'imageSets'
    day = read_image_set(str(sets / 'test-day-20.txt'))
    night = read_image_set(str(sets / 'test-night-20.txt'))
    every = read_image_set(str(sets / 'test-all-20.txt'))
    assert len(every) == kaist_improved_counts['frames']
    assert (len(day), len(night)) == (1455, 797)
    assert set(day) | set(night) == set(every)
    assert all(frame_condition(f) == 'day' for f in day)
    assert all(frame_condition(f) == 'night' for f in night)
    train = read_image_set(str(sets / 'train-all-02.txt'))
    assert len(train) == 25086  # KAIST's standard training list
    assert {frame_to_img_id(f) // 10**7 for f in train} == set(range(6))
