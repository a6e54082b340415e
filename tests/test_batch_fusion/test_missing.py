"""msfam_mm.batch_fusion.missing: fuse only the pairs without an output,
within a time budget (a classic fuser on real TNO crops)."""
import time

import cv2
import numpy as np
import pytest

from msfam_mm.batch_fusion.missing import fuse_missing


@pytest.fixture
def pairs(tno42, tmp_path):
    out = {}
    for stem in ('05', '11', '19'):
        paths = []
        for band in ('vi', 'ir'):
            img = cv2.imread(str(tno42 / band / f'{stem}.png'),
                             cv2.IMREAD_GRAYSCALE)[:48, :64]
            p = tmp_path / band / f'{stem}.png'
            p.parent.mkdir(exist_ok=True)
            cv2.imwrite(str(p), img)
            paths.append(str(p))
        out[f'tno42/{stem}'] = tuple(paths)
    return out


def test_fuses_missing_outputs_only(pairs, tmp_path):
    def out(key):
        return str(tmp_path / 'fused' / f'{key}.png')
    first = fuse_missing(pairs, out, 'max')
    assert (first['fused'], first['left'], first['failures']) == (3, 0, [])
    for key, (vis, ir) in pairs.items():
        expect = np.maximum(cv2.imread(vis, 0), cv2.imread(ir, 0))
        assert np.array_equal(cv2.imread(out(key), 0), expect)
    mtime = (tmp_path / 'fused' / 'tno42' / '05.png').stat().st_mtime_ns
    (tmp_path / 'fused' / 'tno42' / '11.png').unlink()
    again = fuse_missing(pairs, out, 'max')
    assert again['fused'] == 1
    assert (tmp_path / 'fused' / 'tno42' / '05.png').stat().st_mtime_ns \
        == mtime


def test_deadline_leaves_the_rest_for_a_rerun(pairs, tmp_path):
    def out(key):
        return str(tmp_path / 'fused' / f'{key}.png')
    spent = fuse_missing(pairs, out, 'max', deadline=time.time() - 1)
    assert (spent['fused'], spent['left']) == (0, 3)
    assert not (tmp_path / 'fused').exists()
    done = fuse_missing(pairs, out, 'max', deadline=time.time() + 600)
    assert (done['fused'], done['left']) == (3, 0)
