"""The synthetic toy KAIST: layout, determinism, and that lwir-only /
visible-only pedestrians really are invisible in the other band."""
import json
import os

import cv2
import numpy as np
import pytest

from msfam_mm.datasets.kaist import (frame_condition, load_bbgt,
                                     make_toy_kaist, read_image_set)
from msfam_mm.detection import KAISTDataset


SIZE = (160, 128)
FRAMES = 16


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy') / 'toy_kaist'
    manifest = make_toy_kaist(str(root), num_frames=FRAMES, seed=3,
                              size=SIZE)
    return root, manifest


def _image(root, frame, band, ext):
    s, v, name = frame.split('/')
    img = cv2.imread(str(root / 'images' / s / v / band / (name + ext)),
                     cv2.IMREAD_GRAYSCALE)
    assert img is not None
    return img.astype(np.float64)


def _contrast(img, box):
    """Mean |torso columns - side columns| over the torso rows: large when
    a silhouette is drawn in the box, ~0 on the smooth background."""
    x, y, w, h = box
    patch = img[y:y + h, x:x + w]
    rows = patch[int(0.22 * h):int(0.5 * h)]
    centre = rows[:, int(0.35 * w):int(np.ceil(0.65 * w))].mean(axis=1)
    side = np.concatenate([rows[:, :max(1, int(0.08 * w))],
                           rows[:, w - max(1, int(0.08 * w)):]], axis=1)
    return float(np.abs(centre - side.mean(axis=1)).mean())


def test_layout_manifest_and_readme(toy):
    root, manifest = toy
    assert manifest['synthetic'] is True
    assert 'SYNTHETIC' in (root / 'README.md').read_text()
    on_disk = json.loads((root / 'manifest.json').read_text())
    assert on_disk['synthetic'] is True and on_disk['size'] == list(SIZE)
    sets = root / 'imageSets'
    train = read_image_set(str(sets / 'train-all-02.txt'))
    test = read_image_set(str(sets / 'test-all-20.txt'))
    day = read_image_set(str(sets / 'test-day-20.txt'))
    night = read_image_set(str(sets / 'test-night-20.txt'))
    assert len(train) + len(test) == FRAMES and not set(train) & set(test)
    assert set(day) | set(night) == set(test)
    assert read_image_set(str(sets / 'train-all.txt')) == train  # aliases
    assert read_image_set(str(sets / 'test-all.txt')) == test
    assert {frame_condition(f) for f in day} == {'day'}
    assert {frame_condition(f) for f in night} == {'night'}
    exts = set()
    for meta in manifest['frames']:
        frame = meta['frame_id']
        exts.add(meta['ext'])
        objs = load_bbgt(str(root / 'annotations' / (frame + '.txt')))
        assert [(o.label, [o.x, o.y, o.w, o.h]) for o in objs] == \
            [(m['label'], m['bbox']) for m in meta['objects']]
        for band in ('visible', 'lwir'):
            s, v, name = frame.split('/')
            img = cv2.imread(str(root / 'images' / s / v / band /
                                 (name + meta['ext'])), cv2.IMREAD_UNCHANGED)
            assert img.shape == (SIZE[1], SIZE[0], 3)
        for o in objs:  # inside KAIST's 5-px border
            assert o.x >= 5 and o.y >= 5
            assert o.x + o.w <= SIZE[0] - 5 and o.y + o.h <= SIZE[1] - 5
    assert exts == {'.jpg', '.png'}
    # every split has all three kinds of pedestrian
    for split in ('train', 'test'):
        kinds = {o['visibility'] for m in manifest['frames']
                 if m['split'] == split for o in m['objects']
                 if o['label'] == 'person'}
        assert kinds == {'both', 'lwir_only', 'visible_only'}


def test_pedestrians_visible_only_in_their_bands(toy):
    root, manifest = toy
    # thermal images are grey stored as 3 equal channels, like KAIST's
    meta = manifest['frames'][0]
    s, v, name = meta['frame_id'].split('/')
    lwir = cv2.imread(str(root / 'images' / s / v / 'lwir' /
                          (name + meta['ext'])))
    assert np.abs(lwir.astype(int) - lwir[..., :1]).max() <= 3
    stats = {('visible', k): [] for k in ('both', 'lwir_only',
                                          'visible_only')}
    stats.update({('lwir', k): [] for k in ('both', 'lwir_only',
                                            'visible_only')})
    night_vis_means = []
    for meta in manifest['frames']:
        for band in ('visible', 'lwir'):
            img = _image(root, meta['frame_id'], band, meta['ext'])
            if band == 'visible' and meta['condition'] == 'night':
                night_vis_means.append(img.mean())
            for obj in meta['objects']:
                if obj['label'] == 'person':
                    stats[(band, obj['visibility'])].append(
                        _contrast(img, obj['bbox']))
    shown = stats[('visible', 'both')] + stats[('visible', 'visible_only')] \
        + stats[('lwir', 'both')] + stats[('lwir', 'lwir_only')]
    hidden = stats[('visible', 'lwir_only')] + stats[('lwir',
                                                     'visible_only')]
    assert min(shown) > 25, min(shown)
    assert max(hidden) < 6, max(hidden)
    assert max(night_vis_means) < 40  # night visible frames are dark


def test_deterministic_and_refuses_to_overwrite(toy, tmp_path):
    root, manifest = toy
    again = make_toy_kaist(str(tmp_path / 'again'), num_frames=FRAMES,
                           seed=3, size=SIZE)
    assert again == manifest
    frame = manifest['frames'][1]
    for band in ('visible', 'lwir'):
        a = _image(root, frame['frame_id'], band, frame['ext'])
        b = _image(tmp_path / 'again', frame['frame_id'], band, frame['ext'])
        assert np.array_equal(a, b)
    other = make_toy_kaist(str(tmp_path / 'other'), num_frames=FRAMES,
                           seed=4, size=SIZE)
    assert other['frames'] != manifest['frames']
    with pytest.raises(FileExistsError, match='not an empty folder'):
        make_toy_kaist(str(root), num_frames=FRAMES, size=SIZE)
    with pytest.raises(ValueError, match='at least 64x64'):
        make_toy_kaist(str(tmp_path / 'tiny'), size=(32, 32))
    assert not (tmp_path / 'tiny').exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith('.toy')]


def test_toy_loads_in_kaist_dataset(toy):
    root, manifest = toy
    for modality in ('visible', 'lwir'):
        ds = KAISTDataset(data_root=str(root),
                          image_set='imageSets/train-all-02.txt',
                          modality=modality,
                          filter_cfg=dict(filter_empty_gt=True))
        assert len(ds) == manifest['splits']['train']
        info = ds.get_data_info(0)
        assert (info['width'], info['height']) == SIZE
        assert f'/{modality}/' in info['img_path']
        labels = {i['kaist_label']: i['ignore_flag']
                  for k in range(len(ds))
                  for i in ds.get_data_info(k)['instances']}
        assert labels['person'] == 0
