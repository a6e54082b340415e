"""File digests: what identifies weights in run records and a cached score
with the files it was computed from."""
import hashlib
import os
from typing import Union

__all__ = ['file_sha256']


def file_sha256(path: Union[str, os.PathLike], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in ``chunk``-byte blocks.

    Example:
        >>> file_sha256('checkpoints/msfam_cpu_stage2_fp16.pth')[:8]  # doctest: +SKIP
        '71e2e4c1'
    """
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()
