"""Piotr Dollar's bbGt text annotations as used by KAIST, and KAIST's filter.

One file per frame. The first line is ``% bbGt version=3``; every other line
is one object::

    label x y w h occ vx vy vw vh ign ang

(pixels, top-left corner + size; ``occ`` is KAIST's occlusion level
0 = none, 1 = partial, 2 = heavy; ``v*`` is the visible part; ``ign`` an
ignore flag; ``ang`` an orientation). Versions 0/1 stop after ``vh``,
version 2 after ``ign``. The parser is tolerant: it accepts any line with at
least ``label x y w h`` and fills missing trailing fields with 0, because the
improved test annotations (Liu et al., BMVC 2016) and the sanitized training
annotations (Li et al., BMVC 2018) that users download differ slightly.
Non-numeric fields, negative sizes or too many fields raise a ``ValueError``
naming the file and line.

:func:`bbgt_ignore_flags` is the object filter of the KAIST devkit
(``bbGt('bbLoad', ...)`` with ``lbls``, ``ilbls``, ``hRng``, ``vType``,
``xRng``, ``yRng``), used both for training targets and for the miss-rate
protocol, so "reasonable" means the same everywhere.

Example:
    >>> objs = parse_bbgt_lines(['% bbGt version=3',
    ...                          'person 505 212 20 60 0 0 0 0 0 0 0'])
    >>> objs[0].label, objs[0].height
    ('person', 60.0)
    >>> keep, ign = bbgt_ignore_flags(objs, img_size=(640, 512),
    ...                               **REASONABLE)
    >>> bool(keep[0]), bool(ign[0])
    (True, False)
"""
import math
import os
import warnings
from typing import (Iterable, List, Mapping, NamedTuple, Optional, Sequence,
                    Tuple)

import numpy as np

#: The class KAIST detectors are evaluated on.
KAIST_PERSON_LABELS = ('person', )
#: Labels that become ignore regions (KAIST devkit ``ilbls``).
KAIST_IGNORE_LABELS = ('people', 'person?', 'cyclist')
#: Occlusion levels of KAIST annotations (``occ`` column).
KAIST_OCCLUSION_LEVELS = {'none': 0, 'partial': 1, 'heavy': 2}
#: The "reasonable" setting of the KAIST benchmark (Hwang et al., CVPR 2015;
#: devkit ``kaist_eval_full``: hRng [55 inf], vType {none, partial},
#: xRng [5 635], yRng [5 507] on 640x512 frames, i.e. a 5-px border).
REASONABLE = dict(min_height=55.0, max_height=math.inf, occlusions=(0, 1),
                  border=5.0)

_VERSION_FIELDS = {0: 10, 1: 10, 2: 11, 3: 12}  # fields incl. the label
_MAX_FIELDS = 12


class BBGtObject(NamedTuple):
    """One annotated object of a bbGt file (box as x, y, w, h)."""
    label: str
    x: float
    y: float
    w: float
    h: float
    occlusion: int = 0
    visible_box: Tuple[float, float, float, float] = (0., 0., 0., 0.)
    ignore: int = 0
    angle: float = 0.0

    @property
    def height(self) -> float:
        return self.h

    def xyxy(self) -> List[float]:
        """Box as ``[x1, y1, x2, y2]`` (MMDetection convention)."""
        return [self.x, self.y, self.x + self.w, self.y + self.h]


def record_occlusion(record: Mapping, label: str, source: str) -> int:
    """The KAIST occlusion level (0 none, 1 partial, 2 heavy) of a record.

    Records of other formats (a plain COCO json, the instances of mmdet's
    ``CocoDataset``) have none; a person without one counts as unoccluded,
    with a warning naming ``source``: the "reasonable" setting would then
    keep heavily occluded persons as targets and overstate the miss rate.
    """
    if 'occlusion' in record:
        return int(record['occlusion'])
    if label == 'person':
        warnings.warn(
            f'{source}: person annotations carry no KAIST occlusion level; '
            'they count as unoccluded, so heavily occluded persons become '
            '"reasonable" targets and MR^-2 rises. Use a tools/kaist2coco.py '
            'json, the KAIST annotation files or KAISTDataset.',
            stacklevel=3)
    return 0


def parse_bbgt_lines(lines: Iterable[str],
                     source: str = '<bbGt text>') -> List[BBGtObject]:
    """Parse the lines of one bbGt annotation file.

    Args:
        lines: the file's lines (with or without newlines).
        source: name used in error messages (the file path).

    Returns:
        list of :class:`BBGtObject` in file order (empty for empty frames).

    Raises:
        ValueError: naming ``source`` and the line on malformed input.
    """
    objects: List[BBGtObject] = []
    version: Optional[int] = None
    for line_no, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        if text.startswith('%'):
            if 'bbGt' in text and 'version=' in text:
                try:
                    version = int(text.split('version=')[1].split()[0])
                except (ValueError, IndexError):
                    raise ValueError(
                        f'{source}, line {line_no}: cannot read the bbGt '
                        f'version from {text!r}') from None
                if version not in _VERSION_FIELDS:
                    raise ValueError(f'{source}, line {line_no}: unknown bbGt '
                                     f'version {version} (expected 0-3)')
            continue
        fields = text.split()
        if len(fields) < 5:
            raise ValueError(
                f'{source}, line {line_no}: expected "label x y w h ..." '
                f'(at least 5 fields), got {len(fields)}: {text!r}')
        if len(fields) > _MAX_FIELDS:
            raise ValueError(
                f'{source}, line {line_no}: {len(fields)} fields, bbGt '
                f'allows at most {_MAX_FIELDS}: {text!r}')
        try:
            nums = [float(v) for v in fields[1:]]
        except ValueError:
            raise ValueError(f'{source}, line {line_no}: non-numeric field '
                             f'after the label: {text!r}') from None
        if not all(math.isfinite(v) for v in nums):
            raise ValueError(
                f'{source}, line {line_no}: non-finite number: {text!r}')
        nums += [0.0] * (_MAX_FIELDS - 1 - len(nums))
        x, y, w, h, occ, vx, vy, vw, vh, ign, ang = nums
        if w < 0 or h < 0:
            raise ValueError(f'{source}, line {line_no}: negative box size '
                             f'w={w:g} h={h:g}: {text!r}')
        objects.append(
            BBGtObject(fields[0], x, y, w, h, int(occ), (vx, vy, vw, vh),
                       int(ign), ang))
    return objects


def load_bbgt(path: str) -> List[BBGtObject]:
    """Read one bbGt annotation file (see :func:`parse_bbgt_lines`).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file and line on malformed content.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'KAIST annotation file {path} does not exist')
    with open(path, encoding='utf-8', errors='strict') as f:
        try:
            lines = f.read().splitlines()
        except UnicodeDecodeError as err:
            raise ValueError(
                f'{path}: not a UTF-8 text file ({err})') from None
    return parse_bbgt_lines(lines, source=path)


def bbgt_ignore_flags(
        objects: Sequence[BBGtObject],
        img_size: Tuple[float, float] = (640, 512),
        labels: Sequence[str] = KAIST_PERSON_LABELS,
        ignore_labels: Sequence[str] = KAIST_IGNORE_LABELS,
        min_height: float = 0.0,
        max_height: float = math.inf,
        occlusions: Optional[Sequence[int]] = None,
        border: Optional[float] = None) -> Tuple[np.ndarray, np.ndarray]:
    """KAIST devkit object filter (``bbGt>bbLoad``), as boolean arrays.

    * objects whose label is in neither ``labels`` nor ``ignore_labels`` are
      dropped (``keep`` False), as the devkit does;
    * kept objects are ignore regions when their label is in
      ``ignore_labels``, when their file ``ign`` flag is set, when their
      height is outside ``[min_height, max_height]``, when their occlusion is
      not in ``occlusions`` (None: any), or when ``border`` is given and the
      left, right, top or bottom edge lies outside
      ``[border, W - border] x [border, H - border]`` (the devkit's
      xRng [5 635] / yRng [5 507] on 640x512 frames).

    Args:
        objects: parsed objects of one frame.
        img_size: frame size ``(W, H)`` for the border rule.

    Returns:
        ``(keep, ignore)`` boolean arrays of length ``len(objects)``.
    """
    n = len(objects)
    keep = np.zeros(n, dtype=bool)
    ignore = np.zeros(n, dtype=bool)
    width, height = img_size
    for i, obj in enumerate(objects):
        if obj.label in labels:
            ign = False
        elif obj.label in ignore_labels:
            ign = True
        else:
            continue
        keep[i] = True
        ign = ign or bool(obj.ignore)
        ign = ign or not (min_height <= obj.h <= max_height)
        if occlusions is not None:
            ign = ign or obj.occlusion not in occlusions
        if border is not None:
            x2, y2 = obj.x + obj.w, obj.y + obj.h
            ign = ign or not (border <= obj.x <= width - border
                              and border <= x2 <= width - border
                              and border <= obj.y <= height - border
                              and border <= y2 <= height - border)
        ignore[i] = ign
    return keep, ignore


def reasonable_filter_kwargs(reasonable_filter: Optional[dict]) -> dict:
    """Keyword arguments of :func:`bbgt_ignore_flags` for a filter config.

    ``None`` keeps every ``person`` box as a target; a dict overrides the
    keys of :data:`~msfam_mm.datasets.kaist.bbgt.REASONABLE`
    (``min_height``, ``max_height``, ``occlusions``, ``border``).
    """
    if reasonable_filter is None:
        return {}
    if not isinstance(reasonable_filter, dict):
        raise TypeError('reasonable_filter must be a dict or '
                        f'None, got {type(reasonable_filter).__name__}')
    unknown = set(reasonable_filter) - set(REASONABLE)
    if unknown:
        raise ValueError(f'unknown reasonable_filter keys '
                         f'{sorted(unknown)}; allowed: {sorted(REASONABLE)}')
    kwargs = dict(REASONABLE)
    kwargs.update(reasonable_filter)
    if kwargs['occlusions'] is not None:
        kwargs['occlusions'] = tuple(int(o) for o in kwargs['occlusions'])
    return kwargs
