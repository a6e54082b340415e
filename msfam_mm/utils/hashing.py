"""File digests: what identifies weights in run records and a cached score
with the files it was computed from."""
import hashlib
import os
from typing import Union

__all__ = ['file_sha256']


def file_sha256(path: Union[str, os.PathLike], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in ``chunk``-byte blocks.

    Example:
        >>> len(file_sha256(__file__))
        64
    """
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()
