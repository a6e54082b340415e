"""ReconstructionLoss (MSFAM Eq. 1) on a constructed case, against the
float64 SSIM reference."""
import numpy as np
import pytest
import torch

from msfam_mm.models.losses import ReconstructionLoss, reconstruction_loss

from loss_references import _np_ssim, _t


# --------------------------------------------------------------------------
# Eq. 1 reconstruction loss
# --------------------------------------------------------------------------
def test_reconstruction_loss_eq1_value():
    rng = np.random.default_rng(5)
    target = 0.2 + 0.6 * rng.random((40, 50))
    output = target + 0.1  # L1 = 0.1 exactly
    expected = 0.1 + 0.84 * (1 - _np_ssim(target, output))
    got = ReconstructionLoss()(_t(target), _t(output)).item()
    assert got == pytest.approx(expected, abs=1e-5)
    assert reconstruction_loss(_t(target), _t(output),
                               alpha=0.0).item() == pytest.approx(0.1, 1e-5)
    x = torch.rand(2, 1, 32, 32)
    assert ReconstructionLoss()(x, x).item() == 0.0
    with pytest.raises(ValueError, match='alpha'):
        ReconstructionLoss(alpha=-1.0)
