"""Images the fusion metric tests share."""
import cv2
import numpy as np
import pytest

from msfam_mm.evaluation.fusion_metrics import to_gray_uint8


def _read(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return to_gray_uint8(img, str(path))


@pytest.fixture(scope='session')
def read_grey():
    """``read_grey(path)``: an image file as the metrics read it (grey
    uint8, colour converted with MATLAB's rgb2gray weights)."""
    return _read


@pytest.fixture(scope='module')
def tno_pair(tno42):
    """TNO pair 01 (visible, infrared), grey uint8."""
    return _read(tno42 / 'vi' / '01.png'), _read(tno42 / 'ir' / '01.png')


@pytest.fixture(scope='module')
def textured():
    """A deterministic textured image (smooth blobs plus noise)."""
    rng = np.random.default_rng(1)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (96, 120)), (0, 0), 3)
    base = (base - base.min()) / (base.max() - base.min()) * 200
    noise = rng.normal(0, 10, base.shape)
    return np.clip(base + noise + 20, 0, 255).round().astype(np.uint8)
