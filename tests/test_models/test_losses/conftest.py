"""Images the loss tests share."""
import pytest

from loss_references import _load_grey


@pytest.fixture(scope='module')
def tno_pair(tno42):
    """TNO pair 10 (480 x 640), centre crop 256 x 320 (the training size)."""
    vis = _load_grey(tno42 / 'vi' / '10.png')[100:356, 100:420]
    ir = _load_grey(tno42 / 'ir' / '10.png')[100:356, 100:420]
    return vis, ir
