"""The fusion pipeline's transforms (msfam_mm.datasets.transforms): grey
loading with checked reads, synced crops and flips, the rule fusions of the
classifier data and packing."""
import cv2
import numpy as np
import pytest

from msfam_mm.datasets.transforms import (LoadGreyImage, RandomRuleFusion,
                                          SyncedCenterCrop, SyncedRandomCrop,
                                          SyncedRandomFlip, fuse_max,
                                          fuse_two_scale,
                                          fuse_weighted_average)


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


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
