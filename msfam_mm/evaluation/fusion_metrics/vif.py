"""Pixel-domain visual information fidelity VIFp (Section 4.1, VIF).

Sheikh & Bovik, "Image information and visual quality", IEEE TIP 2006; the
multi-scale pixel-domain variant of LIVE's ``vifp_mscale.m``, which Tang's
suite calls (VIFB has no VIF metric). With ``R`` the reference and ``D`` the distorted image,
at each of 4 scales ``s = 1..4`` a Gaussian window of size
``N = 2^(5-s) + 1`` and ``sigma = N / 5`` gives local statistics
(``'valid'`` filtering)::

    g      = s_RD / s_R^2                   (gain of the distortion channel)
    s_V^2  = s_D^2 - g * s_RD               (additive distortion variance)
    num   += sum log10(1 + g^2 s_R^2 / (s_V^2 + s_n^2))
    den   += sum log10(1 + s_R^2 / s_n^2)

with ``s_n^2 = 2`` (HVS noise) and ``VIFp = num / den``. Before scales
2-4 both images are filtered with that scale's window ('valid') and
subsampled by 2. The fusion value is ``VIFp(V, F) + VIFp(I, F)``.
"""
import numpy as np

from ._utils import as_float, filter_valid, gaussian_kernel_1d, to_gray_uint8

SIGMA_NSQ = 2.0  # HVS noise variance of vifp_mscale.m
NUM_SCALES = 4
_EPS = 1e-10     # variance threshold of vifp_mscale.m


def vif_p(ref: np.ndarray, dist: np.ndarray) -> float:
    """Multi-scale pixel-domain VIF of ``dist`` against ``ref``.

    Order matters: ``ref`` is the reference (a source image), ``dist`` the
    image under test (the fused image). ``VIFp(X, X) = 1`` for any image with
    structure. If the reference is flat at every scale (``den == 0``, e.g. a
    constant image) VIFp is 0/0 (MATLAB: NaN); we return 0.0 because the
    reference then carries no information to preserve.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.integers(0, 256, (64, 64), dtype=np.uint8)
        >>> round(vif_p(x, x), 6)
        1.0
    """
    return vif_p_multi([ref], dist)[0]


def _pyramid_stats(img: np.ndarray, with_moments: bool):
    """Per scale: (image at that scale, window, local mean, local variance)."""
    out = []
    x = img
    for scale in range(1, NUM_SCALES + 1):
        n = 2 ** (NUM_SCALES - scale + 1) + 1
        win = gaussian_kernel_1d(n, n / 5.0)
        if scale > 1:
            x = filter_valid(x, win)[::2, ::2]
        mu = filter_valid(x, win)
        if mu.size == 0:
            break  # image exhausted: MATLAB sums over empty matrices (0)
        var = None
        if with_moments:
            var = np.maximum(filter_valid(x * x, win) - mu * mu, 0.0)
        out.append((x, win, mu, var))
    return out


def vif_p_multi(refs, dist: np.ndarray):
    """``[vif_p(r, dist) for r in refs]``, computing the statistics of
    ``dist`` once (the fused image is shared by both sources)."""
    d = as_float(to_gray_uint8(dist, 'dist'))
    refs = [as_float(to_gray_uint8(r, 'ref')) for r in refs]
    for r in refs:
        if r.shape != d.shape:
            raise ValueError(f'vif_p: shapes differ, ref is {r.shape} and '
                             f'dist is {d.shape}')
    d_stats = _pyramid_stats(d, True)
    values = []
    for r in refs:
        num = 0.0
        den = 0.0
        for (dx, win, mu2, s2), (rx, _, mu1, s1) in zip(
                d_stats, _pyramid_stats(r, True)):
            s12 = filter_valid(rx * dx, win) - mu1 * mu2
            s1 = s1.copy()
            g = s12 / (s1 + _EPS)
            sv = s2 - g * s12
            flat_r = s1 < _EPS
            g[flat_r] = 0.0
            sv[flat_r] = s2[flat_r]
            s1[flat_r] = 0.0
            flat_d = s2 < _EPS
            g[flat_d] = 0.0
            sv[flat_d] = 0.0
            neg = g < 0
            sv[neg] = s2[neg]
            g[neg] = 0.0
            np.maximum(sv, _EPS, out=sv)
            num += float(np.sum(np.log10(1.0 + g * g * s1
                                         / (sv + SIGMA_NSQ))))
            den += float(np.sum(np.log10(1.0 + s1 / SIGMA_NSQ)))
        values.append(num / den if den > 0 else 0.0)
    return values
