"""Atomic file writes: a file is either absent or whole, never half-written.

Every tool that writes results (fused images, manifests, metric tables,
COCO jsons, split lists, exported weights) goes through these functions:
the data go to a hidden temporary file in the target's folder (same file
system, so the final ``os.replace`` is atomic), are flushed to disk, and
replace the target in one step. A killed or failing write leaves the old
file (or none) and removes its temporary file.

The temporary file is created with mode 0666 minus the umask, as a plain
``open()`` would: ``tempfile.mkstemp`` creates 0600 files and ``os.replace``
keeps that mode, which would make the outputs unreadable to the user's
group.
"""
import os
import secrets
from pathlib import Path
from typing import Optional, Tuple, Union

__all__ = ['create_temp_file', 'write_bytes_atomic', 'write_text_atomic',
           'is_temp_file', 'temp_file_target']

PathLike = Union[str, os.PathLike]


def create_temp_file(folder: PathLike, prefix: str) -> Tuple[int, Path]:
    """Create a new file ``folder/prefix<random>`` exclusively, with the
    mode ``open()`` would give it; return its descriptor and path."""
    folder = Path(folder)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_BINARY', 0)
    for _ in range(100):
        tmp = folder / f'{prefix}{secrets.token_hex(4)}'
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f'{folder}: cannot create a temporary file '
                          f'{prefix}*')


def temp_file_target(name: str) -> Optional[str]:
    """The file name a temporary file of :func:`write_bytes_atomic` was
    written for, ``None`` when ``name`` is no such temporary file.

    Example:
        >>> temp_file_target('.I00001.png.part-1f2e3d4c')
        'I00001.png'
        >>> temp_file_target('I00001.png') is None
        True
    """
    if not name.startswith('.') or '.part' not in name:
        return None
    return name[1:].split('.part')[0]


def is_temp_file(name: str) -> bool:
    """Whether ``name`` is a temporary file of :func:`write_bytes_atomic`."""
    return temp_file_target(name) is not None


def write_bytes_atomic(path: PathLike, data: bytes,
                       tmp_tag: str = '') -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent or whole.

    ``tmp_tag`` is put into the temporary name (``.NAME.part<tag>-*``) so
    that callers can clean up what a killed run left behind.

    Example:
        >>> write_bytes_atomic('out/table.csv', b'a,b\\n')  # doctest: +SKIP
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_file(path.parent, f'.{path.name}.part{tmp_tag}-')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: PathLike, text: str,
                      encoding: str = 'utf-8') -> None:
    """:func:`write_bytes_atomic` of ``text`` encoded (no newline
    translation: what is given is what is written)."""
    write_bytes_atomic(path, text.encode(encoding))
