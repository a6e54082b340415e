"""msfam_mm.evaluation.fusion_report.figures: fused outputs next to both
sources, on real TNO crops."""
import cv2
import numpy as np
import pytest

from msfam_mm.evaluation.fusion_report.figures import (CAPTION_H, GAP,
                                                       fusion_figure,
                                                       write_fusion_figure)
from msfam_mm.evaluation.fusion_report.protocols import ReportError


@pytest.fixture
def crops(tno42, tmp_path):
    """Two TNO pairs cropped to 60x90 and 40x90 (H x W), and each pair's
    per-pixel maximum as a 'fused' image."""
    pairs, fused = {}, {}
    for stem, h in (('05', 60), ('11', 40)):
        imgs = {}
        for band in ('vi', 'ir'):
            img = cv2.imread(str(tno42 / band / f'{stem}.png'),
                             cv2.IMREAD_GRAYSCALE)[:h, :90]
            imgs[band] = img
            p = tmp_path / band / f'{stem}.png'
            p.parent.mkdir(exist_ok=True)
            cv2.imwrite(str(p), img)
        pairs[f'tno42/{stem}'] = (str(tmp_path / 'vi' / f'{stem}.png'),
                                  str(tmp_path / 'ir' / f'{stem}.png'))
        p = tmp_path / 'max' / f'{stem}.png'
        p.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(p), np.maximum(imgs['vi'], imgs['ir']))
        fused[f'tno42/{stem}'] = str(p)
    return pairs, fused


def test_figure_layout_and_file(crops, tmp_path):
    pairs, fused = crops
    out = tmp_path / 'fig' / 'cross_tno42.png'
    shape = write_fusion_figure(str(out), pairs, [('max', fused)],
                                tile_height=30)
    img = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert img is not None and img.shape == shape
    # rows: 2 pairs of (30 + caption), one gap; columns: 3 tiles of the
    # widest row (05: 60x90 -> 30x45; 11: 40x90 -> 30x68), two gaps
    assert shape == (2 * (30 + CAPTION_H) + GAP, 3 * 68 + 2 * GAP)
    assert out.stat().st_size > 1000
    assert not [p for p in out.parent.iterdir() if p.name != out.name]
    # the third tile of the first row is the fused image, scaled
    tile = img[CAPTION_H:CAPTION_H + 30, 2 * (45 + GAP):2 * (45 + GAP) + 45]
    ref = cv2.resize(cv2.imread(fused['tno42/05'], 0), (45, 30),
                     interpolation=cv2.INTER_AREA)
    assert np.array_equal(tile, ref)


def test_figure_refuses_bad_columns(crops, tmp_path):
    pairs, fused = crops
    with pytest.raises(ReportError, match='no fused image of tno42/11'):
        fusion_figure(pairs, [('max', {'tno42/05': fused['tno42/05']})])
    wrong = dict(fused, **{'tno42/05': fused['tno42/11']})
    with pytest.raises(ReportError, match='90x40, its sources 90x60'):
        fusion_figure(pairs, [('max', wrong)])
    with pytest.raises(ReportError, match='no pair'):
        fusion_figure({}, [])
    with pytest.raises(ReportError, match='nope.png'):
        fusion_figure(pairs, [('max', dict(fused, **{
            'tno42/05': str(tmp_path / 'nope.png')}))])
