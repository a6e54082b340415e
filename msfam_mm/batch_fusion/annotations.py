"""KAIST's annotations and image-set lists made available in a fused
KAIST copy, so that its annotation files and lists apply unchanged
(``KAISTDataset(data_root=OUT_ROOT, modality='fused')``).

``annotations/`` and ``imageSets/`` are copied (only new or changed files,
each atomically) or symlinked into OUT_ROOT; the KAIST copy is only read.

Example:
    >>> check_annotations(kaist, out, 'copy')            # doctest: +SKIP
    >>> export_annotations(kaist, out, 'copy')           # doctest: +SKIP
    {'annotations': 'copied 4 files', 'imageSets': 'copied 3 files'}
"""
import os
from pathlib import Path
from typing import Dict

from msfam_mm.utils.atomic_io import write_bytes_atomic
from .errors import ArgumentError

__all__ = ['ANNOTATION_MODES', 'check_annotations', 'export_annotations',
           'copy_tree_incremental']

#: how OUT_ROOT gets the text files: copies, symlinks, or not at all
ANNOTATION_MODES = ('copy', 'link', 'none')
_META_DIRS = ('annotations', 'imageSets')


def copy_tree_incremental(src: Path, dst: Path) -> int:
    """Copy regular files of ``src`` into ``dst`` (atomically per file),
    skipping files whose copy already has the same size and mtime; return
    how many were copied."""
    copied = 0
    for dirpath, _, files in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        for name in files:
            s = Path(dirpath) / name
            d = dst / rel / name
            st = s.stat()
            if d.is_file():
                dt = d.stat()
                if dt.st_size == st.st_size and \
                        int(dt.st_mtime) == int(st.st_mtime):
                    continue
            write_bytes_atomic(d, s.read_bytes())
            os.utime(d, (st.st_atime, st.st_mtime))
            copied += 1
    return copied


def check_annotations(kaist_root: Path, out_root: Path, mode: str) -> None:
    """Refuse a mode that :func:`export_annotations` could not carry out,
    before anything is written.

    Raises:
        ArgumentError: an unknown mode.
        FileExistsError: OUT_ROOT holds something else where the folders
            go (named).
    """
    if mode not in ANNOTATION_MODES:
        raise ArgumentError('{annotations} must be one of {0}, got {1!r}',
                            ANNOTATION_MODES, mode)
    for sub in _META_DIRS:
        src, dst = Path(kaist_root) / sub, Path(out_root) / sub
        if mode == 'none' or not src.is_dir():
            continue
        if mode == 'link' and (dst.exists() or dst.is_symlink()) and not (
                dst.is_symlink() and dst.resolve() == src.resolve()):
            raise FileExistsError(f'{dst} exists and is not a link to '
                                  f'{src}; remove it or copy the folders '
                                  'instead of linking them')
        if mode == 'copy' and dst.is_symlink():
            raise FileExistsError(f'{dst} is a symlink; remove it or link '
                                  'the folders instead of copying them')
        if mode == 'copy' and dst.exists() and not dst.is_dir():
            raise FileExistsError(f'{dst} exists and is not a folder')


def export_annotations(kaist_root: Path, out_root: Path,
                       mode: str) -> Dict[str, str]:
    """Make ``annotations/`` and ``imageSets/`` available under OUT_ROOT;
    return what was done per folder."""
    check_annotations(kaist_root, out_root, mode)
    report = {}
    for sub in _META_DIRS:
        src, dst = Path(kaist_root) / sub, Path(out_root) / sub
        if mode == 'none' or not src.is_dir():
            report[sub] = 'absent in KAIST_ROOT' if mode != 'none' else 'none'
            continue
        if mode == 'link':
            if not dst.is_symlink():
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(src.resolve(), dst, target_is_directory=True)
            report[sub] = 'linked'
        else:
            report[sub] = f'copied {copy_tree_incremental(src, dst)} files'
    return report
