"""Find the visible/thermal pairs of a KAIST copy and split them into shards.

KAIST's official layout (Hwang et al., CVPR 2015) is
``images/setXX/VYYY/{visible,lwir}/IZZZZZ.{jpg,png}`` next to
``annotations/`` and ``imageSets/``. Frames come either from an image-set
list (``imageSets/*.txt``, one ``setXX/VYYY/IZZZZZ`` per line) or from
walking ``images/``. A frame whose visible or lwir file is absent is kept
with that side ``None`` so the caller can report it by path.

Example:
    >>> frames = discover_kaist_frames('/data/kaist')     # doctest: +SKIP
    >>> frames[0].frame_id, frames[0].visible             # doctest: +SKIP
    ('set00/V000/I00000', '/data/kaist/images/set00/V000/visible/I00000.jpg')
    >>> mine = shard_items(frames, num_shards=4, shard_id=1)  # doctest: +SKIP
"""
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, TypeVar, Union

from ..utils.image_io import IMAGE_EXTENSIONS

VISIBLE, LWIR = 'visible', 'lwir'
_SET_RE = re.compile(r'^set\d+$')
_VIDEO_RE = re.compile(r'^V\d+$')

T = TypeVar('T')


@dataclass(frozen=True)
class KAISTFrame:
    """One KAIST frame: its id and the source files (``None`` if absent)."""
    frame_id: str
    visible: Optional[str]
    lwir: Optional[str]

    def expected(self, modality: str, root: Union[str, os.PathLike]) -> str:
        """Where the file of ``modality`` is looked for (for messages)."""
        s, v, i = self.frame_id.split('/')
        return os.path.join(os.fspath(root), 'images', s, v, modality,
                            i + '.{' + ','.join(e[1:] for e in
                                                IMAGE_EXTENSIONS) + '}')


class _DirIndex:
    """Caches one listing per folder: stem -> file name (images only)."""

    def __init__(self) -> None:
        self._cache: Dict[str, Dict[str, str]] = {}

    def stems(self, folder: str) -> Dict[str, str]:
        if folder not in self._cache:
            found: Dict[str, str] = {}
            try:
                names = sorted(os.listdir(folder))
            except FileNotFoundError:
                names = []
            for name in names:
                stem, ext = os.path.splitext(name)
                # first extension in IMAGE_EXTENSIONS order wins if a frame
                # is stored twice
                if ext.lower() in IMAGE_EXTENSIONS and not name.startswith(
                        '.') and (stem not in found or IMAGE_EXTENSIONS.index(
                            ext.lower()) < IMAGE_EXTENSIONS.index(
                            os.path.splitext(found[stem])[1].lower())):
                    found[stem] = name
            self._cache[folder] = found
        return self._cache[folder]

    def find(self, folder: str, stem: str) -> Optional[str]:
        name = self.stems(folder).get(stem)
        return os.path.join(folder, name) if name else None


def _sorted_dirs(folder: Path, pattern: re.Pattern) -> List[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_dir() and pattern.match(p.name))


def discover_kaist_frames(root: Union[str, os.PathLike],
                          image_set: Optional[Union[str, os.PathLike]] = None
                          ) -> List[KAISTFrame]:
    """List the frames of a KAIST copy, sorted by frame id.

    Args:
        root: KAIST_ROOT with the official layout.
        image_set: an image-set list; relative paths are taken relative to
            ``root`` (e.g. ``imageSets/test-all-20.txt``), then to the
            working directory. ``None`` walks ``images/``.

    Raises:
        FileNotFoundError: ``root/images`` or the list is missing.
        ValueError: the list has a malformed or duplicate id (file and line
            named), or no frame was found.
    """
    root = Path(root)
    images = root / 'images'
    if not images.is_dir():
        raise FileNotFoundError(
            f'{images} does not exist: KAIST_ROOT must have the official '
            'layout images/setXX/VYYY/{visible,lwir}/IZZZZZ.jpg')
    index = _DirIndex()
    if image_set is not None:
        from ..datasets.kaist.frame_ids import read_image_set
        path = Path(image_set)
        if not path.is_absolute() and (root / path).is_file():
            path = root / path
        ids = sorted(set(read_image_set(os.fspath(path))))
    else:
        ids = []
        for s in _sorted_dirs(images, _SET_RE):
            for v in _sorted_dirs(images / s, _VIDEO_RE):
                stems = set(index.stems(os.fspath(images / s / v / VISIBLE)))
                stems |= set(index.stems(os.fspath(images / s / v / LWIR)))
                ids.extend(f'{s}/{v}/{stem}' for stem in sorted(stems))
    if not ids:
        raise ValueError(f'no KAIST frames found under {images}' + (
            f' for image set {image_set}' if image_set else ''))
    frames = []
    for fid in ids:
        s, v, stem = fid.split('/')
        video = os.fspath(images / s / v)
        frames.append(KAISTFrame(
            fid, index.find(os.path.join(video, VISIBLE), stem),
            index.find(os.path.join(video, LWIR), stem)))
    return frames


def shard_items(items: Sequence[T], num_shards: int = 1,
                shard_id: int = 0) -> List[T]:
    """Deterministic round-robin split: item ``i`` goes to shard
    ``i % num_shards``. Sorted input gives every shard a similar mix of
    sets (day/night) and so a similar run time."""
    if num_shards < 1:
        raise ValueError(f'num_shards must be >= 1, got {num_shards}')
    if not 0 <= shard_id < num_shards:
        raise ValueError(f'shard_id must be in [0, {num_shards}), got '
                         f'{shard_id}')
    return list(items[shard_id::num_shards])
