"""Helpers that turn folders and list files into image paths.

List-file format (``data/splits/*.txt``, written by ``tools/make_split.py``):
one sample per line, whitespace-separated paths relative to the dataset's
``data_root``; for pairs ``<visible path> <infrared path>``. Blank lines and
lines starting with ``#`` are ignored.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple, Union

from msfam_mm.utils.image_io import IMAGE_EXTENSIONS

__all__ = ['read_list_file', 'scan_images', 'match_pairs_by_stem',
           'as_dir_list', 'scene_set_of']


def scene_set_of(path: str, data_root: str = '') -> str:
    """The data set a source image belongs to: the first folder of its
    path below ``data_root`` (``'tno42'`` for ``data/tno42/vi/05.png``).

    Stored as ``scene_set`` in the samples' info, so that a sampler can
    keep the mix of data sets equal across labels (``LabelBalancedSampler``
    ``match_scene_sets``).

    Example:
        >>> scene_set_of('data/tno42/vi/05.png', 'data/')
        'tno42'
    """
    rel = osp.relpath(path, data_root) if data_root else path
    parts = [p for p in osp.normpath(rel).split(os.sep) if p not in ('', '.')]
    if parts and parts[0] == '..':
        # outside data_root (an absolute path in a list): the folder that
        # holds the band folder, as in <set>/vi/05.png
        parts = [p for p in osp.normpath(osp.abspath(path)).split(os.sep)
                 if p]
        return parts[-3] if len(parts) >= 3 else ''
    return parts[0] if len(parts) > 1 else ''


def as_dir_list(dirs: Union[str, Sequence[str], None]) -> List[str]:
    if dirs is None:
        return []
    if isinstance(dirs, str):
        return [dirs]
    return list(dirs)


def _join(root: str, path: str) -> str:
    return path if osp.isabs(path) or not root else osp.join(root, path)


def read_list_file(ann_file: str, data_root: str = '',
                   columns: int = 0) -> List[Tuple[str, ...]]:
    """Read a list file into tuples of paths joined with ``data_root``.

    Args:
        ann_file: the list file (already joined with the data root by
            ``BaseDataset``).
        data_root: prefix for the relative paths inside the file.
        columns: required number of paths per line (0: any, at least one).

    Raises:
        FileNotFoundError: the list file, or a file it names, is missing
            (message names the list file, line number and missing file).
        ValueError: a line has the wrong number of paths.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'list file {ann_file!r} does not exist')
    entries = []
    with open(ann_file, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = line.split()
            if columns and len(parts) != columns:
                raise ValueError(f'{ann_file}:{lineno}: expected {columns} '
                                 f'paths, got {len(parts)}: {line!r}')
            paths = tuple(_join(data_root, p) for p in parts)
            for p in paths:
                if not osp.isfile(p):
                    raise FileNotFoundError(
                        f'{ann_file}:{lineno}: image file {p!r} does not '
                        'exist (check data_root)')
            entries.append(paths)
    if not entries:
        raise ValueError(f'list file {ann_file!r} names no images')
    return entries


def scan_images(folder: str,
                suffixes: Sequence[str] = IMAGE_EXTENSIONS) -> List[str]:
    """Sorted image files (by suffix, case-insensitive) directly in folder."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder!r} does not exist')
    suffixes = tuple(s.lower() for s in suffixes)
    files = sorted(
        osp.join(folder, name) for name in os.listdir(folder)
        if name.lower().endswith(suffixes)
        and osp.isfile(osp.join(folder, name)))
    if not files:
        raise ValueError(f'image folder {folder!r} has no files ending in '
                         f'{suffixes}')
    return files


def match_pairs_by_stem(vis_dir: str, ir_dir: str,
                        suffixes: Sequence[str] = IMAGE_EXTENSIONS
                        ) -> List[Tuple[str, str]]:
    """Pair the images of two folders by file stem (name without suffix).

    Raises:
        FileNotFoundError: an image has no counterpart (names the file).
        ValueError: two files of one folder share a stem.
    """
    def by_stem(folder: str) -> Dict[str, str]:
        out: Dict[str, str] = {}
        for path in scan_images(folder, suffixes):
            stem = osp.splitext(osp.basename(path))[0]
            if stem in out:
                raise ValueError(f'{out[stem]!r} and {path!r} share the stem '
                                 f'{stem!r}; cannot pair by stem')
            out[stem] = path
        return out

    vis, ir = by_stem(vis_dir), by_stem(ir_dir)
    for stem, path in vis.items():
        if stem not in ir:
            raise FileNotFoundError(f'visible image {path!r} has no infrared '
                                    f'counterpart {stem}.* in {ir_dir!r}')
    for stem, path in ir.items():
        if stem not in vis:
            raise FileNotFoundError(f'infrared image {path!r} has no visible '
                                    f'counterpart {stem}.* in {vis_dir!r}')
    return [(vis[s], ir[s]) for s in sorted(vis)]
