"""One entry point for all fusion metrics: ``evaluate_fusion``.

Every pairwise metric is reported per source -- ``<M>_V`` for (F, V) and
``<M>_I`` for (F, I) -- and combined as ``<M>``. How the two are combined
depends on ``convention`` (docs/metrics.md says which published tables use
which):

``'standard'`` -- the MATLAB suites' definitions (VIFB; Tang's suite used for
    SeAFusion/PIAFusion tables):

    ======== =====================================================
    MI       MI(F,V) + MI(F,I)
    SCD      corr2(F-I, V) + corr2(F-V, I)            (Aslantas 2015)
    CC       (corr2(F,V) + corr2(F,I)) / 2
    VIF      VIFp(V,F) + VIFp(I,F)
    Qabf     joint formula of Xydeas & Petrovic (one weighted sum)
    SSIM     SSIM(F,V) + SSIM(F,I)                     (VIFB)
    MS_SSIM  (MS-SSIM(F,V) + MS-SSIM(F,I)) / 2
    PSNR     10 log10(255^2 / ((MSE(F,V) + MSE(F,I)) / 2))
    ======== =====================================================

``'mean'`` -- the paper's Eq. 9: ``(M'(F,V) + M'(F,I)) / 2`` for every
    pairwise metric (Qabf: mean of the per-source Q^{VF}, Q^{IF}).
``'sum'`` -- ``M'(F,V) + M'(F,I)`` for every pairwise metric (the scale of
    MSFAM's Table 6 CC column, which exceeds 1).

EN, SD, SF and AG depend on F alone.
"""
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple

import numpy as np

from ._utils import prepare
from .correlation import correlation_coefficient, scd
from .image_statistics import (average_gradient, spatial_frequency,
                               standard_deviation)
from .information import entropy, mutual_information
from .psnr import mse, psnr_from_mse
from .qabf import qabf_components
from .ssim import ssim_and_ms_ssim
from .vif import vif_p_multi

#: No-reference metrics (of the fused image alone).
SINGLE_METRICS = ('EN', 'SD', 'SF', 'AG')
#: Metrics comparing the fused image with each source.
PAIRWISE_METRICS = ('MI', 'SCD', 'CC', 'VIF', 'Qabf', 'SSIM', 'MS_SSIM',
                    'PSNR')
ALL_METRICS = SINGLE_METRICS + PAIRWISE_METRICS
#: The paper's six (Section 4.1), in Table 6's column order.
PAPER_METRICS = ('EN', 'MS_SSIM', 'MI', 'SCD', 'CC', 'VIF')
CONVENTIONS = ('standard', 'mean', 'sum')

_ALIASES = {m.upper(): m for m in ALL_METRICS}
_ALIASES.update({'MS-SSIM': 'MS_SSIM', 'MSSSIM': 'MS_SSIM', 'QAB/F': 'Qabf',
                 'VIFP': 'VIF'})


def canonical_metric_names(metrics: Optional[Iterable[str]]
                           ) -> Tuple[str, ...]:
    """Map user-given names (case-insensitive, e.g. 'ms-ssim', 'qabf') to
    canonical ones, in the order given; ``None`` means all metrics."""
    if metrics is None:
        return ALL_METRICS
    if isinstance(metrics, str):
        metrics = [m for m in metrics.split(',')]
    out = []
    for m in metrics:
        key = _ALIASES.get(str(m).strip().upper())
        if key is None:
            raise ValueError(f'unknown fusion metric {m!r}; choose from '
                             f'{", ".join(ALL_METRICS)}')
        if key not in out:
            out.append(key)
    if not out:
        raise ValueError('empty list of fusion metrics')
    return tuple(out)


def output_keys(metrics: Optional[Iterable[str]] = None) -> Tuple[str, ...]:
    """Keys of ``evaluate_fusion``'s dict for ``metrics``: each metric, and
    ``<M>_V``, ``<M>_I`` after each pairwise one."""
    keys = []
    for m in canonical_metric_names(metrics):
        keys.append(m)
        if m in PAIRWISE_METRICS:
            keys += [f'{m}_V', f'{m}_I']
    return tuple(keys)


# Each pairwise function: (F, V, I, cache) -> (value_V, value_I, standard
# value); ``cache`` shares work between metrics of one call.
def _mi(f, v, i, cache):
    a, b = mutual_information(f, v), mutual_information(f, i)
    return a, b, a + b


def _scd(f, v, i, cache):
    a, b = scd(f, v, i)
    return a, b, a + b


def _cc(f, v, i, cache):
    a, b = correlation_coefficient(f, v, i)
    return a, b, 0.5 * (a + b)


def _vif(f, v, i, cache):
    a, b = vif_p_multi([v, i], f)
    return a, b, a + b


def _qabf(f, v, i, cache):
    n_v, d_v, n_i, d_i = qabf_components(f, v, i)
    a = n_v / d_v if d_v > 0 else 0.0
    b = n_i / d_i if d_i > 0 else 0.0
    joint = (n_v + n_i) / (d_v + d_i) if d_v + d_i > 0 else 0.0
    return a, b, joint


def _ssim_both(f, v, i, cache):
    # SSIM and MS-SSIM share their full-resolution statistics.
    if 'ssim' not in cache:
        ms = cache['want_ms_ssim']
        cache['ssim'] = (ssim_and_ms_ssim(f, v, ms),
                         ssim_and_ms_ssim(f, i, ms))
    return cache['ssim']


def _ssim(f, v, i, cache):
    (a, _), (b, _) = _ssim_both(f, v, i, cache)
    return a, b, a + b


def _ms_ssim(f, v, i, cache):
    (_, a), (_, b) = _ssim_both(f, v, i, cache)
    return a, b, 0.5 * (a + b)


def _psnr(f, v, i, cache):
    m_v, m_i = mse(f, v), mse(f, i)
    return (psnr_from_mse(m_v), psnr_from_mse(m_i),
            psnr_from_mse(0.5 * (m_v + m_i)))


_PAIRWISE: Dict[str, Callable] = {
    'MI': _mi, 'SCD': _scd, 'CC': _cc, 'VIF': _vif, 'Qabf': _qabf,
    'SSIM': _ssim, 'MS_SSIM': _ms_ssim, 'PSNR': _psnr}
_SINGLE: Dict[str, Callable] = {
    'EN': entropy, 'SD': standard_deviation, 'SF': spatial_frequency,
    'AG': average_gradient}


def evaluate_fusion(fused: np.ndarray, vis: np.ndarray, ir: np.ndarray,
                    metrics: Optional[Iterable[str]] = None,
                    convention: str = 'standard',
                    names: Optional[Sequence[str]] = None
                    ) -> Dict[str, float]:
    """Compute fusion metrics of one (fused, visible, infrared) triple.

    Args:
        fused, vis, ir: uint8 images, (H, W) or (H, W, 3) RGB (converted
            with MATLAB's rgb2gray), all of the same size.
        metrics: names from ``ALL_METRICS`` (case-insensitive; a
            comma-separated string works too); ``None`` = all.
        convention: 'standard' (MATLAB suites), 'mean' (paper Eq. 9) or
            'sum'; see the module docstring.
        names: names of the three images for error messages (file paths).

    Returns:
        Flat dict: ``{'EN': ..., 'MI': ..., 'MI_V': ..., 'MI_I': ..., ...}``
        in the order of ``output_keys(metrics)``.

    Example:
        >>> x = np.arange(256, dtype=np.uint8).reshape(16, 16)
        >>> out = evaluate_fusion(x, x, x, metrics='EN,MI,CC')
        >>> out['EN'], out['MI'], out['MI_V'], out['CC']
        (8.0, 16.0, 8.0, 1.0)
    """
    if convention not in CONVENTIONS:
        raise ValueError(f'unknown convention {convention!r}; choose from '
                         f'{CONVENTIONS}')
    metrics = canonical_metric_names(metrics)
    f, v, i = prepare(fused, vis, ir, names)
    out: Dict[str, float] = {}
    cache = {'want_ms_ssim': 'MS_SSIM' in metrics}
    for m in metrics:
        if m in _SINGLE:
            out[m] = float(_SINGLE[m](f))
            continue
        a, b, std = _PAIRWISE[m](f, v, i, cache)
        if convention == 'standard':
            out[m] = float(std)
        elif convention == 'mean':
            out[m] = float(0.5 * (a + b))
        else:
            out[m] = float(a + b)
        out[f'{m}_V'] = float(a)
        out[f'{m}_I'] = float(b)
    return out
