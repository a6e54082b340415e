"""msfam_mm.batch_fusion.sharding: how a frame list is split among
processes."""
import pytest

from msfam_mm.batch_fusion import ArgumentError, shard_from_env, shard_items

FRAMES = [f'set00/V000/I{i:05d}' for i in range(13)]


def test_round_robin_by_position():
    # item i goes to shard i % 4: shard 1 holds items 1, 5, 9
    assert shard_items(FRAMES, 4, 1) == [FRAMES[1], FRAMES[5], FRAMES[9]]
    assert shard_items(FRAMES, 4, 0) == [FRAMES[0], FRAMES[4], FRAMES[8],
                                         FRAMES[12]]
    assert shard_items(FRAMES) == FRAMES
    assert shard_items(FRAMES, 1, 0) is not FRAMES  # a new list


@pytest.mark.parametrize('num_shards', [1, 2, 3, 5, 13, 20])
def test_shards_partition_the_list_evenly(num_shards):
    shards = [shard_items(FRAMES, num_shards, k) for k in range(num_shards)]
    flat = [f for s in shards for f in s]
    assert sorted(flat) == FRAMES and len(flat) == len(set(flat))
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    # every shard keeps the list's order
    assert all(s == sorted(s) for s in shards)


def test_bad_ids_name_the_argument():
    with pytest.raises(ArgumentError, match=r'^num_shards must be >= 1, '
                                            r'got 0$') as e:
        shard_items(FRAMES, 0, 0)
    assert e.value.render({'num_shards': '--num-shards'}) == \
        '--num-shards must be >= 1, got 0'
    for shard_id in (4, -1):
        with pytest.raises(ArgumentError, match=r'^shard_id must be in '
                                                rf'\[0, 4\), got {shard_id}$'):
            shard_items(FRAMES, 4, shard_id)


def test_shards_from_torchrun_environment(monkeypatch):
    for var in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'):
        monkeypatch.delenv(var, raising=False)
    assert shard_from_env(None, None) == (1, 0, 0)
    monkeypatch.setenv('WORLD_SIZE', '8')
    monkeypatch.setenv('RANK', '5')
    monkeypatch.setenv('LOCAL_RANK', '1')
    assert shard_from_env(None, None) == (8, 5, 1)
    # given values win; a given split without an id is shard 0 (RANK
    # belongs to torchrun's world, not to that split)
    assert shard_from_env(3, 2) == (3, 2, 1)
    assert shard_from_env(3, None) == (3, 0, 1)
    assert shard_from_env(None, 2) == (8, 2, 1)
