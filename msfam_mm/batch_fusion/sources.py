"""What a batch-fusion run fuses: two folders paired by name, or the
visible/thermal frames of a KAIST copy.

Each source becomes a :class:`PairSource`: the run's pairs (one
:class:`~.engine.PairTask` per output) and what the run records say
about them (the frame list's name and keys, the output layout, the
source's own manifest entries).

KAIST's official layout (Hwang et al., CVPR 2015) is
``images/setXX/VYYY/{visible,lwir}/IZZZZZ.{jpg,png}`` next to
``annotations/`` and ``imageSets/`` (:mod:`msfam_mm.datasets.kaist.layout`).
Frames come either from an image-set list (``imageSets/*.txt``, one
``setXX/VYYY/IZZZZZ`` per line) or from walking ``images/``. A frame whose
visible or lwir file is absent is kept with that side ``None`` so that it
is reported by path.

Example:
    >>> frames = discover_kaist_frames('/data/kaist')     # doctest: +SKIP
    >>> frames[0].frame_id, frames[0].visible             # doctest: +SKIP
    ('set00/V000/I00000', '/data/kaist/images/set00/V000/visible/I00000.jpg')
"""
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Union

from msfam_mm.datasets.kaist.frame_ids import read_image_set
from msfam_mm.datasets.kaist.layout import (KAIST_IMAGE_EXTS, LWIR, VISIBLE,
                                            kaist_image_path)
from msfam_mm.utils.image_io import IMAGE_EXTENSIONS
from .annotations import check_annotations
from .engine import PairTask
from .errors import ArgumentError
from .sharding import shard_items

__all__ = ['PairSource', 'KAISTFrame', 'check_output_folder',
           'folder_source', 'discover_kaist_frames', 'kaist_source']

PathLike = Union[str, os.PathLike]
_SET_RE = re.compile(r'^set\d+$')
_VIDEO_RE = re.compile(r'^V\d+$')
_FRAME_RE = re.compile(r'^I\d+$')


@dataclass
class PairSource:
    """The pairs of one run and how its records describe them.

    Attributes:
        list_name: the frame list's name (``'folders'``, ``'all-frames'``
            or the image set's file stem).
        image_set: the image-set file the list comes from, or ``None``.
        keys: every key of the list (all shards), in order.
        layout: where a key's output lies (``'kaist'`` or ``'flat'``,
            :data:`.records.LAYOUTS`).
        tasks: the pairs this run fuses (its shard of ``keys``).
        record: the source's own entries of the shard manifest (its
            inputs, ``shard`` ids, ...).
    """
    list_name: str
    image_set: Optional[str]
    keys: List[str]
    layout: str
    tasks: List[PairTask]
    record: Dict


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def check_output_folder(out: Path, name: str, inputs: Dict[str, Path]) -> None:
    """Refuse an output folder that is a file or lies inside an input
    folder (sources are never written to), before anything is written.

    Args:
        out: the output folder.
        name: its argument name (for the message).
        inputs: argument name -> input folder.

    Raises:
        ArgumentError: naming the arguments and the paths.
    """
    for src_name, src in inputs.items():
        if _inside(out, src):
            raise ArgumentError(
                '{%s} {0} lies inside {%s} {1}: sources are never written '
                'to; choose a folder outside it' % (name, src_name), out, src)
    if out.exists() and not out.is_dir():
        raise ArgumentError('{%s} {0} exists and is not a folder' % name, out)


# ------------------------------------------------------------ two folders
def _images_by_stem(folder: Path) -> Dict[str, str]:
    if not folder.is_dir():
        raise FileNotFoundError(f'image folder {folder} does not exist')
    out: Dict[str, str] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and \
                not p.name.startswith('.'):
            if p.stem in out:
                raise ValueError(f'{folder} holds two images named {p.stem} '
                                 f'({os.path.basename(out[p.stem])}, '
                                 f'{p.name}); pairing by name is ambiguous')
            out[p.stem] = os.fspath(p)
    return out


def folder_source(vis_dir: PathLike, ir_dir: PathLike, out_dir: PathLike,
                  ext: str) -> PairSource:
    """``vis_dir/NAME.*`` paired with ``ir_dir/NAME.*`` (same stem; the
    extensions may differ), fused into ``out_dir/NAME.<ext>``; a name found
    in only one folder is a pair with a missing counterpart.

    Raises:
        ArgumentError: ``out_dir`` is a file or lies inside an input.
        FileNotFoundError: an input folder is missing.
        ValueError: no images, or two images of one stem in a folder.
    """
    vis_dir, ir_dir, out_dir = Path(vis_dir), Path(ir_dir), Path(out_dir)
    check_output_folder(out_dir, 'out_dir',
                        dict(vis_dir=vis_dir, ir_dir=ir_dir))
    vis, ir = _images_by_stem(vis_dir), _images_by_stem(ir_dir)
    if not vis and not ir:
        raise ValueError(f'no images in {vis_dir} or {ir_dir}')
    keys = sorted(set(vis) | set(ir))
    tasks = []
    for stem in keys:
        missing = ''
        if stem not in vis:
            missing = f'missing visible counterpart {vis_dir / stem}.*'
        elif stem not in ir:
            missing = f'missing infrared counterpart {ir_dir / stem}.*'
        tasks.append(PairTask(stem, vis.get(stem), ir.get(stem),
                              os.fspath(out_dir / f'{stem}.{ext}'), missing))
    return PairSource(
        list_name='folders', image_set=None, keys=keys, layout='flat',
        tasks=tasks,
        record=dict(vis_dir=os.fspath(vis_dir.resolve()),
                    ir_dir=os.fspath(ir_dir.resolve()),
                    shard=dict(num_shards=1, shard_id=0)))


# -------------------------------------------------------------- KAIST copy
@dataclass(frozen=True)
class KAISTFrame:
    """One KAIST frame: its id and the source files (``None`` if absent)."""
    frame_id: str
    visible: Optional[str]
    lwir: Optional[str]

    def expected(self, modality: str, root: PathLike) -> str:
        """Where the file of ``modality`` is looked for (for messages)."""
        return kaist_image_path(root, self.frame_id, modality) + '.{' + \
            ','.join(e[1:] for e in KAIST_IMAGE_EXTS) + '}'


class _DirIndex:
    """Caches one listing per folder: stem -> file name (images only; of
    a frame stored in two formats, the first in ``KAIST_IMAGE_EXTS``)."""

    def __init__(self) -> None:
        self._cache: Dict[str, Dict[str, str]] = {}

    def stems(self, folder: str) -> Dict[str, str]:
        if folder not in self._cache:
            try:
                names = sorted(os.listdir(folder))
            except FileNotFoundError:
                names = []
            rank = {ext: i for i, ext in enumerate(KAIST_IMAGE_EXTS)}
            found: Dict[str, str] = {}
            for name in names:
                stem, ext = os.path.splitext(name)
                ext = ext.lower()
                if ext not in rank or name.startswith('.'):
                    continue
                if stem not in found or rank[ext] < rank[
                        os.path.splitext(found[stem])[1].lower()]:
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


def discover_kaist_frames(root: PathLike,
                          image_set: Optional[PathLike] = None
                          ) -> List[KAISTFrame]:
    """List the frames of a KAIST copy, sorted by frame id.

    Args:
        root: KAIST_ROOT with the official layout.
        image_set: an image-set list; relative paths are taken relative to
            ``root`` (e.g. ``imageSets/test-all-20.txt``), then to the
            working directory. ``None`` walks ``images/`` (files named
            ``I<digits>`` in ``setXX/VYYY/{visible,lwir}``).

    Raises:
        FileNotFoundError: ``root/images`` or the list is missing.
        ValueError: the list has a malformed or duplicate id (file and line
            named), or no frame was found.
    """
    root = Path(root)
    images = root / 'images'
    if not images.is_dir():
        raise FileNotFoundError(
            f'{images} does not exist: a KAIST copy has the official '
            'layout images/setXX/VYYY/{visible,lwir}/IZZZZZ.jpg')
    index = _DirIndex()
    if image_set is not None:
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
                ids.extend(f'{s}/{v}/{stem}' for stem in sorted(stems)
                           if _FRAME_RE.match(stem))
    if not ids:
        raise ValueError(f'no KAIST frames found under {images}' + (
            f' for image set {image_set}' if image_set else ''))
    frames = []
    for fid in ids:
        found = []
        for band in (VISIBLE, LWIR):
            path = kaist_image_path(root, fid, band)
            found.append(index.find(os.path.dirname(path),
                                    os.path.basename(path)))
        frames.append(KAISTFrame(fid, *found))
    return frames


def _check_modality(modality: str) -> None:
    if modality in (VISIBLE, LWIR) or not modality or '/' in modality or \
            modality.startswith('.'):
        raise ArgumentError("modality folder name {0!r} must be a plain "
                            "name other than 'visible'/'lwir'", modality)


def kaist_source(kaist_root: PathLike, out_root: PathLike,
                 image_set: Optional[PathLike] = None,
                 modality: str = 'fused', ext: str = 'png',
                 num_shards: int = 1, shard_id: int = 0,
                 annotations: str = 'copy') -> PairSource:
    """One shard of a KAIST copy's frames (of ``image_set``, default all),
    fused into ``out_root/images/setXX/VYYY/<modality>/IZZZZZ.<ext>``.

    Frames of the list (sorted by id) are split round-robin into
    ``num_shards`` (:func:`~.sharding.shard_items`). ``annotations`` says
    how OUT_ROOT gets the annotation files and image-set lists
    (:mod:`.annotations`); it is checked here and recorded.

    Raises:
        ArgumentError: ``out_root`` is a file or lies inside
            ``kaist_root``, a bad modality name, annotations mode or shard
            ids.
        FileExistsError: OUT_ROOT holds something else where the
            annotation folders go.
        FileNotFoundError/ValueError: see :func:`discover_kaist_frames`.
    """
    kaist_root, out_root = Path(kaist_root), Path(out_root)
    check_output_folder(out_root, 'out_root', dict(kaist_root=kaist_root))
    _check_modality(modality)
    check_annotations(kaist_root, out_root, annotations)
    frames = discover_kaist_frames(kaist_root, image_set)
    tasks = []
    for f in shard_items(frames, num_shards, shard_id):
        missing = []
        if f.visible is None:
            missing.append('missing visible image '
                           f'{f.expected(VISIBLE, kaist_root)}')
        if f.lwir is None:
            missing.append('missing lwir counterpart '
                           f'{f.expected(LWIR, kaist_root)}')
        tasks.append(PairTask(
            f.frame_id, f.visible, f.lwir,
            kaist_image_path(out_root, f.frame_id, modality, '.' + ext),
            '; '.join(missing)))
    image_set = os.fspath(image_set) if image_set else None
    return PairSource(
        list_name=Path(image_set).stem if image_set else 'all-frames',
        image_set=image_set, keys=[f.frame_id for f in frames],
        layout='kaist', tasks=tasks,
        record=dict(kaist_root=os.fspath(kaist_root.resolve()),
                    image_set=image_set, frames_in_dataset=len(frames),
                    shard=dict(num_shards=num_shards, shard_id=shard_id),
                    layout=f'images/setXX/VYYY/{modality}/IZZZZZ.{ext}',
                    annotations=dict(mode=annotations)))
