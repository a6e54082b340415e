"""Independent float64 references and test images for the loss tests of
this folder (imported by name: pytest puts a test file's folder on
``sys.path`` in its default ``prepend`` import mode).

The references use 2-D correlation with the full Gaussian kernel, not the
separable torch path of msfam_mm.models.losses.
"""
import cv2
import numpy as np
import torch
from scipy.signal import correlate2d

from msfam_mm.models.losses.ssim import MS_SSIM_WEIGHTS


def _np_gauss2d(size=11, sigma=1.5):
    c = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-c ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    return np.outer(g, g)


def _np_ssim_maps(x, y, padding='valid', data_range=1.0):
    k = _np_gauss2d()
    r = k.shape[0] // 2

    def filt(img):
        if padding == 'reflect':
            img = np.pad(img, r, mode='reflect')
        return correlate2d(img, k, mode='valid')

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = filt(x), filt(y)
    vx = filt(x * x) - mx ** 2
    vy = filt(y * y) - my ** 2
    cxy = filt(x * y) - mx * my
    cs = (2 * cxy + c2) / (vx + vy + c2)
    lum = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
    return lum * cs, cs


def _np_ssim(x, y, padding='valid'):
    return _np_ssim_maps(x, y, padding)[0].mean()


def _np_ms_ssim(x, y):
    n = 0
    side = min(x.shape)
    while n < 5 and side >= 11:
        n, side = n + 1, side // 2
    w = np.array(MS_SSIM_WEIGHTS[:n])
    w = w / w.sum()
    terms = []
    for j in range(n):
        s, cs = _np_ssim_maps(x, y)
        if j < n - 1:
            terms.append(cs.mean())
            h, wd = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
            x = x[:h, :wd].reshape(h // 2, 2, wd // 2, 2).mean((1, 3))
            y = y[:h, :wd].reshape(h // 2, 2, wd // 2, 2).mean((1, 3))
        else:
            terms.append(s.mean())
    return float(np.prod(np.maximum(terms, 1e-6) ** w))


def _t(a):
    """float64 numpy (H, W) -> float32 torch (1, 1, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(a)).float()[None, None]


def _load_grey(path):
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None, f'cannot read {path}'
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float64) / 255


def _smooth_random(h, w, seed, scale=4):
    """Smooth random texture in [0, 1] (natural-image-like correlation)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 1, h // scale + 2, w // scale + 2, generator=g)
    up = torch.nn.functional.interpolate(low, size=(h, w), mode='bicubic',
                                         align_corners=False)
    return up.clamp(0, 1)
