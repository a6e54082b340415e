"""KAIST frame identifiers, image ids and image-set lists.

A KAIST frame is named ``setXX/VYYY/IZZZZZ`` (Hwang et al., CVPR 2015,
official layout). Every msfam_mm component (``KAISTDataset``,
``tools/kaist2coco.py``, ``KAISTMissRateMetric``, ``tools/eval_kaist.py``)
maps a frame to the same integer image id, derived from the numbers in the
name and not from a list position, so ids stay stable across image sets::

    img_id = set * 10**7 + video * 10**5 + frame

(video < 100 and frame < 100000 are enforced; KAIST has at most 5 videos per
set and 5-digit frame numbers). Day/night follows KAIST's capture schedule:
sets 00-02 and 06-08 are day, sets 03-05 and 09-11 are night (this is exactly
the split of ``imageSets/test-day-20.txt`` / ``test-night-20.txt``).

Example:
    >>> frame_to_img_id('set06/V001/I00459')
    60100459
    >>> img_id_to_frame(60100459)
    'set06/V001/I00459'
    >>> frame_condition('set09/V000/I00019')
    'night'
"""
import os
import re
from typing import List, Tuple

# Separators seen in public KAIST lists: 'set06/V000/I00019' (official) and
# 'set06_V000_I00019' (flattened MATLAB devkit names).
_FRAME_RE = re.compile(r'^set(\d{1,3})[/_\\]V(\d{1,3})[/_\\]I(\d{1,5})$')

_SET_MUL = 10**7
_VIDEO_MUL = 10**5
_MAX_VIDEO = 100
_MAX_FRAME = 100000

#: Night sets of KAIST (the others are day), from the dataset's capture
#: schedule; equal to the set numbers in ``test-night-20.txt``.
KAIST_NIGHT_SETS = frozenset({3, 4, 5, 9, 10, 11})


def parse_frame_id(frame: str) -> Tuple[int, int, int]:
    """Split ``'setXX/VYYY/IZZZZZ'`` into ``(set, video, frame)`` integers.

    Also accepts ``_`` or ``\\`` as separators and a trailing extension.

    Raises:
        ValueError: if ``frame`` is not a KAIST frame name.
    """
    name = str(frame).strip()
    name = re.sub(r'\.(txt|jpg|jpeg|png|bmp)$', '', name, flags=re.I)
    match = _FRAME_RE.match(name)
    if match is None:
        raise ValueError(
            f'{frame!r} is not a KAIST frame id (expected setXX/VYYY/IZZZZZ)')
    set_no, video, index = (int(g) for g in match.groups())
    if video >= _MAX_VIDEO or index >= _MAX_FRAME:
        raise ValueError(f'{frame!r}: video must be < {_MAX_VIDEO} and frame '
                         f'< {_MAX_FRAME} for the img_id mapping')
    return set_no, video, index


def format_frame_id(set_no: int, video: int, index: int) -> str:
    """Canonical frame id ``'setXX/VYYY/IZZZZZ'``."""
    return f'set{set_no:02d}/V{video:03d}/I{index:05d}'


def normalize_frame_id(frame: str) -> str:
    """Return the canonical ``'setXX/VYYY/IZZZZZ'`` form of ``frame``."""
    return format_frame_id(*parse_frame_id(frame))


def frame_to_img_id(frame: str) -> int:
    """Stable integer image id of a frame (see module docstring)."""
    set_no, video, index = parse_frame_id(frame)
    return set_no * _SET_MUL + video * _VIDEO_MUL + index


def img_id_to_frame(img_id: int) -> str:
    """Inverse of :func:`frame_to_img_id`."""
    img_id = int(img_id)
    if img_id < 0:
        raise ValueError(f'img_id must be non-negative, got {img_id}')
    set_no, rest = divmod(img_id, _SET_MUL)
    video, index = divmod(rest, _VIDEO_MUL)
    return format_frame_id(set_no, video, index)


def frame_condition(frame: str) -> str:
    """``'day'`` or ``'night'`` for a frame, by its KAIST set number."""
    set_no = parse_frame_id(frame)[0]
    return 'night' if set_no in KAIST_NIGHT_SETS else 'day'


def read_image_set(path: str) -> List[str]:
    """Read a KAIST image-set list (one frame id per line).

    Blank lines and lines starting with ``#`` or ``%`` are skipped. Ids are
    returned in canonical form, in file order.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file and line of a malformed or duplicate id.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'KAIST image-set list {path} does not exist')
    frames: List[str] = []
    seen = set()
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            text = line.strip()
            if not text or text[0] in '#%':
                continue
            try:
                frame = normalize_frame_id(text.split()[0])
            except ValueError as err:
                raise ValueError(f'{path}, line {line_no}: {err}') from None
            if frame in seen:
                raise ValueError(
                    f'{path}, line {line_no}: duplicate frame id {frame}')
            seen.add(frame)
            frames.append(frame)
    if not frames:
        raise ValueError(f'KAIST image-set list {path} lists no frames')
    return frames
