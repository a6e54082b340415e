"""The test protocols of the report: which pairs are the test sets, and the
published methods they are ranked against.

``paper``
    the paper's Section 4.1: the held-out 10 % of TNO + RoadScene (a list
    file, ``data/splits/tno_roadscene_test.txt``), plus all 42 TNO pairs for
    the comparison with the nine published fusions (most of which the
    paper's training split has seen; the report says which).
``cross``
    the field's cross-dataset convention: the models train on other data
    sets and TNO-42 (all 42 pairs) is the test set, against the same nine
    published fusions.

A pair's key is ``<data set folder>/<stem>`` (``tno42/05``), so that the
TNO pairs of the split share their fused images with TNO-42.

Example:
    >>> sets = load_test_sets('cross', '../shared/data')  # doctest: +SKIP
    >>> list(sets), len(sets['tno42'])                    # doctest: +SKIP
    (['tno42'], 42)
"""
import os.path as osp
from collections import OrderedDict
from pathlib import Path
from typing import Dict, NamedTuple, Optional, Tuple

import cv2

from msfam_mm.datasets.fusion.file_lists import (match_pairs_by_stem,
                                                 read_list_file)

__all__ = ['ReportError', 'Protocol', 'PROTOCOLS', 'PUBLISHED_METHODS',
           'GOAL_METRICS', 'TNO42', 'Pairs', 'pair_key', 'tno42_pairs',
           'list_pairs', 'load_test_sets', 'smallest_first', 'pixel_count']

#: the nine published fusions of ``<data root>/tno42_published_fusions``
PUBLISHED_METHODS = ('DenseFuse', 'FusionGAN', 'IFCNN', 'PIAFusion', 'PMGI',
                     'RFN-Nest', 'SDNet', 'SeAFusion', 'U2Fusion')
#: the metrics on which the model is ranked among the published methods
#: (top-3 counts, docs/RESULTS.md)
GOAL_METRICS = ('EN', 'MI', 'SCD', 'VIF', 'Qabf', 'SSIM')
#: the TNO-42 test set's key
TNO42 = 'tno42'

#: ``{key: (visible path, infrared path)}``, in a fixed order
Pairs = 'OrderedDict[str, Tuple[str, str]]'


class ReportError(Exception):
    """A problem with the report's inputs; the message names the file or
    value."""


class Protocol(NamedTuple):
    """A test protocol.

    Attributes:
        name: ``'paper'`` or ``'cross'``.
        test_sets: the test sets' keys with their titles, in report order
            (``'tno42'``: all 42 TNO pairs; ``'split'``: the held-out list).
        classifier_set: the test set the classifier is scored on.
        title: one line for the report.
        train_configs: ``ROLE=CONFIG`` of the weights a report scores by
            default (paths from the repository root); the report states
            which images each of them trained on.
        unseen_test: no training config may hold a test pair (the report
            says so in bold when one does).
    """
    name: str
    test_sets: Tuple[Tuple[str, str], ...]
    classifier_set: str
    title: str
    train_configs: Tuple[str, ...] = ()
    unseen_test: bool = False


PROTOCOLS: Dict[str, Protocol] = OrderedDict(
    paper=Protocol('paper', ((TNO42, 'TNO-42'),
                             ('split', 'held-out 10 % split of TNO + '
                              'RoadScene')), 'split',
                   "the paper's protocol (Section 4.1): trained on 90 % of "
                   'TNO + RoadScene, tested on the other 10 %; TNO-42 for '
                   'the comparison with the published fusions',
                   # the shipped weights' configs (checkpoints/README.md)
                   ('stage1=configs/cpu/msfam_stage1_cpu.py',
                    'classifier=configs/cpu/msfam_constraint_cpu.py',
                    'stage2=configs/cpu/msfam_stage2_cpu.py')),
    cross=Protocol('cross', ((TNO42, 'TNO-42'), ), TNO42,
                   'the cross-dataset protocol: trained without any TNO '
                   'image, tested on all 42 TNO pairs',
                   # what tools/train_all.py --protocol cross trains
                   ('stage1=configs/cross/msfam_stage1_cross.py',
                    'classifier=configs/cross/msfam_constraint_cross.py',
                    'stage2=configs/cross/msfam_stage2_cross.py'),
                   unseen_test=True),
)


def pair_key(vis_path: str) -> str:
    """``tno42/07`` for ``.../tno42/vi/07.png`` (data set folder + stem).

    Example:
        >>> pair_key('data/tno42/vi/07.png')
        'tno42/07'
    """
    p = Path(vis_path)
    return f'{p.parent.parent.name}/{p.stem}'


def tno42_pairs(data_root: str) -> Pairs:
    """All TNO-42 pairs of ``<data_root>/tno42/{vi,ir}``, by key."""
    folders = [osp.join(data_root, TNO42, band) for band in ('vi', 'ir')]
    for d in folders:
        if not osp.isdir(d):
            raise ReportError(f'data root {data_root!r}: folder {d!r} is '
                              'missing (data/README.md)')
    return OrderedDict((pair_key(v), (v, i))
                       for v, i in match_pairs_by_stem(*folders))


def list_pairs(list_file: str, data_root: str) -> Pairs:
    """The pairs of a list file (paths relative to ``data_root``)."""
    try:
        entries = read_list_file(list_file, data_root, columns=2)
    except (FileNotFoundError, ValueError) as err:
        raise ReportError(f'{err} (data root {data_root!r})') from None
    pairs = OrderedDict((pair_key(vis), (vis, ir)) for vis, ir in entries)
    if not pairs:
        raise ReportError(f'pair list {list_file!r} names no pair')
    return pairs


def pixel_count(path: str) -> int:
    """Pixels of an image (the header is enough for PNG, but decoding
    keeps this one rule for every format)."""
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ReportError(f'cannot read image {path!r}')
    return int(img.size)


def smallest_first(pairs: Pairs, limit: int = 0) -> Pairs:
    """``pairs`` from the smallest visible image up, the first ``limit``
    only when ``limit`` > 0 (a quick run, or what a time budget allows
    first)."""
    ordered = sorted(pairs.items(), key=lambda kv: pixel_count(kv[1][0]))
    return OrderedDict(ordered[:limit] if limit > 0 else ordered)


def load_test_sets(protocol: str, data_root: str,
                   split_file: Optional[str] = None,
                   max_pairs: int = 0) -> Dict[str, Pairs]:
    """The test sets of ``protocol``: ``{set key: pairs}``.

    Args:
        protocol: a key of :data:`PROTOCOLS`.
        data_root: holds ``tno42/{vi,ir}`` (and the split's data sets).
        split_file: the held-out pair list (``paper`` only).
        max_pairs: keep the ``max_pairs`` smallest pairs of each set (0:
            all); the TNO pairs of the split stay a subset of TNO-42's.

    Raises:
        ReportError: an unknown protocol, a missing folder, list or image.
    """
    if protocol not in PROTOCOLS:
        raise ReportError(f'unknown protocol {protocol!r}; choose from '
                          f"{', '.join(PROTOCOLS)}")
    sets = OrderedDict()
    sets[TNO42] = smallest_first(tno42_pairs(data_root), max_pairs)
    if protocol == 'paper':
        if not split_file:
            raise ReportError("protocol 'paper' needs the held-out pair "
                              'list (data/splits/tno_roadscene_test.txt)')
        split = list_pairs(split_file, data_root)
        if max_pairs > 0:
            # keep the split's TNO pairs inside the reduced TNO-42
            split = OrderedDict((k, p) for k, p in split.items()
                                if not k.startswith(TNO42 + '/')
                                or k in sets[TNO42])
        sets['split'] = smallest_first(split, max_pairs)
    return sets
