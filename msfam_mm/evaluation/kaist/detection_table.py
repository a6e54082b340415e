"""Table 7 layout of KAIST detection results (paper Section 4.4): COCO
AP/AP50/AP_S/AP_M/AP_L, KAIST MR^-2 all/day/night and test throughput per
image type, as Markdown (best value per column in bold) and CSV.

Rows are plain dicts: ``type`` (the row label), optionally ``epochs``, and
the column keys of :data:`COLUMNS` (AP as fractions, MR^-2 in %,
images/s); :func:`table_row` makes one from an mmengine metrics dict.

Example:
    >>> rows = [dict(type='lwir', AP=0.35, AP50=0.75, AP_S=-1.0, AP_M=0.2,
    ...              AP_L=None, **{'MR-2_all': 30.0, 'MR-2_day': 36.0,
    ...              'MR-2_night': float('nan')})]
    >>> print(format_markdown(rows, columns=COLUMNS[:-1],
    ...                       epoch_column=False).splitlines()[2])
    | lwir | 0.350 | 0.750 | -1.000 | 0.200 | n/a | 30.0 | 36.0 | n/a |
"""
import csv
import io
from typing import Dict, List, Mapping, Optional, Sequence

__all__ = ['COLUMNS', 'find_metric', 'table_row', 'format_markdown',
           'format_csv']

#: Table columns: (csv key, markdown header, metric-key suffix, better).
COLUMNS = (
    ('AP', 'AP', 'bbox_mAP', 'max'),
    ('AP50', 'AP<sub>50</sub>', 'bbox_mAP_50', 'max'),
    ('AP_S', 'AP<sub>S</sub>', 'bbox_mAP_s', 'max'),
    ('AP_M', 'AP<sub>M</sub>', 'bbox_mAP_m', 'max'),
    ('AP_L', 'AP<sub>L</sub>', 'bbox_mAP_l', 'max'),
    ('MR-2_all', 'MR<sup>-2</sup> all (%)', 'MR-2_all', 'min'),
    ('MR-2_day', 'MR<sup>-2</sup> day (%)', 'MR-2_day', 'min'),
    ('MR-2_night', 'MR<sup>-2</sup> night (%)', 'MR-2_night', 'min'),
    ('images_per_s', 'images/s', None, 'max'),
)

NOTES = ('AP: COCO AP@[.5:.95]; AP<sub>50</sub>: AP@0.5; '
         'AP<sub>S/M/L</sub>: COCO area ranges (-1: no ground truth in '
         'that range); MR<sup>-2</sup>: KAIST log-average miss rate in %, '
         'reasonable setting (lower is better; n/a: no frames)')
THROUGHPUT_NOTE = 'images/s: test loop throughput without data loading'


def find_metric(metrics: Mapping[str, float], suffix: str
                ) -> Optional[float]:
    """Value whose key is ``suffix`` or ends with ``/suffix``."""
    for key, value in metrics.items():
        if key == suffix or key.endswith('/' + suffix):
            return float(value)
    return None


def table_row(label: str, result: Mapping[str, object]) -> Dict[str, object]:
    """A row from a run's result: ``metrics`` (mmengine keys such as
    ``coco/bbox_mAP``, ``kaist/MR-2_all``), ``images_per_s``, ``epochs``."""
    row = {'type': label, 'epochs': result.get('epochs')}
    for key, _, suffix, _ in COLUMNS:
        row[key] = (result.get('images_per_s') if suffix is None else
                    find_metric(result['metrics'], suffix))
    return row


def _valid(value) -> bool:
    """A real measurement: not missing, NaN (no frames) or -1 (COCO: no
    ground truth in that area range)."""
    return value is not None and value == value and value >= 0


def format_markdown(rows: Sequence[Mapping[str, object]],
                    columns: Sequence = COLUMNS,
                    label_header: str = 'Image type',
                    epoch_column: bool = True) -> str:
    """Table 7 layout; best value per column in bold, then a note that
    defines the columns."""
    best = {}
    for key, _, _, better in columns:
        values = [r[key] for r in rows if _valid(r.get(key))]
        if len(values) > 1:
            best[key] = max(values) if better == 'max' else min(values)
    header = [label_header] + (['Epoch'] if epoch_column else []) + [
        h for _, h, _, _ in columns]
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|'
    ]
    for r in rows:
        cells = [str(r['type'])] + ([str(r.get('epochs'))]
                                    if epoch_column else [])
        for key, _, _, _ in columns:
            v = r.get(key)
            if not _valid(v) and not (v is not None and v == -1):
                cells.append('n/a')
                continue
            text = f'{v:.3f}' if key.startswith('AP') else f'{v:.1f}'
            cells.append(f'**{text}**' if best.get(key) == v else text)
        lines.append('| ' + ' | '.join(cells) + ' |')
    notes = NOTES
    if any(key == 'images_per_s' for key, _, _, _ in columns):
        notes += '; ' + THROUGHPUT_NOTE
    return '\n'.join(lines) + '\n\n' + notes + '.\n'


def format_csv(rows: Sequence[Mapping[str, object]],
               columns: Sequence = COLUMNS,
               epoch_column: bool = True) -> str:
    """The same rows as CSV (empty cell: no value)."""
    buf = io.StringIO()
    fields: List[str] = ['type'] + (['epochs'] if epoch_column else []) + [
        k for k, _, _, _ in columns]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator='\n')
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ('' if r.get(k) is None else r[k])
                         for k in fields})
    return buf.getvalue()
