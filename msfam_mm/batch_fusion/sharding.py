"""Split one frame list among several processes (GPUs, nodes).

Every shard fuses its own part of the list into the same OUT_ROOT and
writes its own record (:mod:`.records`); :func:`~.merge.merge_manifests`
tells when the shards together are complete.

Example:
    >>> shard_items(['a', 'b', 'c', 'd', 'e'], num_shards=2, shard_id=1)
    ['b', 'd']
"""
import os
from typing import List, Optional, Sequence, Tuple, TypeVar

from .errors import ArgumentError

__all__ = ['shard_items', 'shard_from_env']

T = TypeVar('T')


def shard_items(items: Sequence[T], num_shards: int = 1,
                shard_id: int = 0) -> List[T]:
    """Deterministic round-robin split: item ``i`` goes to shard
    ``i % num_shards``. Sorted input gives every shard a similar mix of
    sets (day/night) and so a similar run time.

    Raises:
        ArgumentError: ``num_shards < 1`` or ``shard_id`` outside
            ``[0, num_shards)``.
    """
    if num_shards < 1:
        raise ArgumentError('{num_shards} must be >= 1, got {0}', num_shards)
    if not 0 <= shard_id < num_shards:
        raise ArgumentError('{shard_id} must be in [0, {0}), got {1}',
                            num_shards, shard_id)
    return list(items[shard_id::num_shards])


def shard_from_env(num_shards: Optional[int], shard_id: Optional[int]
                   ) -> Tuple[int, int, int]:
    """``(num_shards, shard_id, local_rank)``: the given values, else
    torchrun's ``WORLD_SIZE``/``RANK``, else one shard; ``local_rank`` from
    ``LOCAL_RANK`` (0 without torchrun).

    A given ``num_shards`` without ``shard_id`` means shard 0 (the
    environment's rank belongs to torchrun's world, not to that split).
    """
    local_rank = int(os.environ.get('LOCAL_RANK', 0))
    if num_shards is None:
        num_shards = int(os.environ.get('WORLD_SIZE', 1))
        if shard_id is None:
            shard_id = int(os.environ.get('RANK', 0))
    if shard_id is None:
        shard_id = 0
    return num_shards, shard_id, local_rank
