"""Figures of a KAIST detection comparison (paper Section 4.4, Table 7).

* :func:`miss_rate_figure`: miss rate against false positives per image
  (FPPI), log-log, one panel per subset (all / day / night), one line per
  image type with its MR^-2 in the legend -- the plot of the Caltech/KAIST
  devkit (Dollar et al., PAMI 2012: ``dbEval.m`` / ``plotRoc.m``).
* :func:`ap_bar_figure`: COCO AP, AP_S, AP_M, AP_L per image type as grouped
  bars.

The curves are drawn exactly as the protocol computed them
(:func:`msfam_mm.evaluation.kaist.evaluate_miss_rates`, kept on disk by
:mod:`msfam_mm.evaluation.kaist.curves`): x is its ``fppi``, y is
``1 - recall``, point for point (the devkit smooths the curve for display;
this does not).

Pure matplotlib (object-oriented API, Agg canvas): no pyplot state, no
display, no MMDetection.

Example:
    >>> fig = miss_rate_figure({'lwir': curves_lwir,
    ...                         'visible': curves_vis})  # doctest: +SKIP
    >>> save_figure(fig, 'work/miss_rate_fppi.png')  # doctest: +SKIP
"""
import io
import math
from typing import Mapping, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from msfam_mm.evaluation.kaist.miss_rate import MR2_FPPI_POINTS
from msfam_mm.utils.atomic_io import write_bytes_atomic

__all__ = [
    'miss_rate_figure', 'ap_bar_figure', 'save_figure',
    'MISS_RATE_SUBSETS', 'AP_KEYS'
]

#: Panels of the miss-rate figure (the subsets KAIST reports).
MISS_RATE_SUBSETS = ('all', 'day', 'night')
#: Axis limits [FPPI min, max, miss rate min, max] of the devkit's plots
#: (``dbEval.m``: ``'lims', [3.1e-3 1e1 .05 1]``).
DEVKIT_LIMITS = (3.1e-3, 1e1, 0.05, 1.0)
#: Miss-rate ticks of the devkit's ``plotRoc.m`` (log y axis).
DEVKIT_MISS_TICKS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.64, 0.8, 1.0)
#: Bars of the AP figure: (key of a table row, axis label).
AP_KEYS = (('AP', 'AP'), ('AP_S', 'AP$_S$'), ('AP_M', 'AP$_M$'),
           ('AP_L', 'AP$_L$'))


def _mr_text(mr: float) -> str:
    return 'n/a' if mr is None or math.isnan(mr) else f'{mr * 100:.2f}%'


def miss_rate_figure(curves: Mapping[str, Mapping[str, Mapping]],
                     subsets: Sequence[str] = MISS_RATE_SUBSETS,
                     title: Optional[str] = None) -> Figure:
    """Miss rate vs FPPI, one panel per subset, one line per image type.

    Args:
        curves: ``{label: {subset: result}}``; ``result`` holds ``fppi``,
            ``recall`` and ``mr`` (a fraction) as returned by
            ``evaluate_miss_rates`` or ``load_miss_rate_curves``, and
            optionally ``num_images`` / ``num_gt``.
        subsets: panels, in order (each label needs every subset).
        title: figure title (default: none).

    Returns:
        The figure. Legend entries read ``"MR⁻² 37.21% label"``, sorted by
        MR^-2 (best first) like the devkit's; a subset without ground truth
        shows ``n/a`` and no line. The FPPI range MR^-2 averages over
        (1e-2 to 1e0) is shaded.
    """
    if not curves:
        raise ValueError('miss_rate_figure: no curves given')
    for label, per_subset in curves.items():
        missing = [s for s in subsets if s not in per_subset]
        if missing:
            raise KeyError(f'miss_rate_figure: {label!r} has no subset '
                           f'{", ".join(missing)}')
    fig = Figure(figsize=(5.0 * len(subsets), 4.8), layout='constrained')
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(subsets), squeeze=False)[0]
    colours = {label: f'C{k % 10}' for k, label in enumerate(curves)}
    x0, x1, y0, y1 = DEVKIT_LIMITS
    for ax, subset in zip(axes, subsets):
        ax.set_xscale('log')
        ax.set_yscale('log')
        # fixed limits before drawing: no autoscaling of curves that start
        # at FPPI 0 (not drawable on a log axis)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.axvspan(MR2_FPPI_POINTS[0], MR2_FPPI_POINTS[-1], color='0.93',
                   zorder=0)
        ax.text(math.sqrt(MR2_FPPI_POINTS[0] * MR2_FPPI_POINTS[-1]), 0.985,
                'MR$^{-2}$ averages the miss rate here', ha='center',
                va='top', fontsize='x-small', color='0.35',
                transform=ax.get_xaxis_transform())

        def mr_key(label, subset=subset):
            mr = curves[label][subset]['mr']
            return (math.isnan(mr), mr if not math.isnan(mr) else 0.0)

        for label in sorted(curves, key=mr_key):
            res = curves[label][subset]
            fppi = np.asarray(res['fppi'], np.float64).reshape(-1)
            recall = np.asarray(res['recall'], np.float64).reshape(-1)
            text = f'MR$^{{-2}}$ {_mr_text(res["mr"])} {label}'
            if math.isnan(res['mr']) or fppi.size == 0:
                # nothing to draw: keep the label in the legend
                ax.plot([], [], color=colours[label], label=text)
                continue
            ax.plot(fppi, 1.0 - recall, color=colours[label], linewidth=1.6,
                    label=text)
        ax.set_yticks(DEVKIT_MISS_TICKS)
        ax.set_yticklabels([f'{t:g}' for t in DEVKIT_MISS_TICKS])
        ax.minorticks_off()
        ax.grid(True, which='major', color='0.8', linewidth=0.6)
        ax.set_xlabel('false positives per image (FPPI)')
        ax.set_ylabel('miss rate')
        counts = {(curves[lb][subset].get('num_images'),
                   curves[lb][subset].get('num_gt')) for lb in curves}
        detail = ''
        if len(counts) == 1:
            n_img, n_gt = counts.pop()
            if n_img is not None and n_gt is not None:
                detail = f': {n_img} frames, {n_gt} persons'
        ax.set_title(f'{subset}{detail}')
        ax.legend(loc='lower left', fontsize='small', framealpha=0.9)
    if title:
        fig.suptitle(title)
    return fig


def ap_bar_figure(rows: Sequence[Mapping[str, object]],
                  keys: Sequence = AP_KEYS, label_key: str = 'type',
                  title: Optional[str] = None) -> Figure:
    """Grouped bars: one group per AP column, one bar per image type.

    Args:
        rows: table rows, each with ``label_key`` and the ``keys`` as
            fractions in [0, 1] (COCO AP); ``None``, NaN or ``-1`` (COCO: no
            ground truth in that size range) draw no bar and print ``n/a``.
        keys: ``(row key, axis label)`` pairs.
        title: axes title (default ``'COCO AP per image type'``).
    """
    if not rows:
        raise ValueError('ap_bar_figure: no rows given')
    fig = Figure(figsize=(max(6.0, 1.2 + 0.9 * len(rows) * len(keys)), 4.6),
                 layout='constrained')
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    width = 0.8 / len(rows)
    centres = np.arange(len(keys), dtype=np.float64)
    top = 0.0
    for k, row in enumerate(rows):
        xs = centres - 0.4 + width * (k + 0.5)
        values = []
        for key, _ in keys:
            v = row.get(key)
            valid = v is not None and not math.isnan(float(v)) and v >= 0
            values.append(float(v) if valid else math.nan)
        heights = [0.0 if math.isnan(v) else v for v in values]
        bars = ax.bar(xs, heights, width * 0.92, color=f'C{k % 10}',
                      label=str(row[label_key]))
        ax.bar_label(bars, labels=['n/a' if math.isnan(v) else f'{v:.3f}'
                                   for v in values],
                     fontsize='x-small', padding=2)
        top = max([top] + heights)
    ax.set_xticks(centres)
    ax.set_xticklabels([name for _, name in keys])
    ax.set_ylabel('COCO AP (fraction)')
    # head room for the value labels above the bars
    ax.set_ylim(0, min(1.1, top * 1.2 + 0.02) if top > 0 else 1.0)
    ax.grid(True, axis='y', color='0.85', linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(title='image type', fontsize='small')
    ax.set_title(title or 'COCO AP per image type (AP: IoU .50:.95; '
                 'S/M/L: area < 32², < 96², larger)')
    return fig


def save_figure(fig: Figure, path: str, dpi: int = 120) -> None:
    """Write ``fig`` as a PNG to ``path`` (atomically: whole or absent)."""
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=dpi)
    write_bytes_atomic(path, buf.getvalue())

