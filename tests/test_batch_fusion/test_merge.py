"""msfam_mm.batch_fusion.merge: completeness of a fused set read from its
records and from the files on disk. The records are written by hand here,
so every expected count can be checked against the table in each test."""
import json
import os
from pathlib import Path

import pytest

from msfam_mm.batch_fusion import merge_manifests
from msfam_mm.batch_fusion.records import list_key

SINCE_NS = 1_700_000_000 * 10**9
SETTINGS = dict(method='average', ext='png', modality='fused')


def _write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _settings(root: Path, since_ns: int = SINCE_NS) -> None:
    _write(root / 'manifests' / 'settings.json',
           dict(settings=SETTINGS, since_ns=since_ns,
                since='2023-11-14T22:13:20Z', replaced=None))


def _list(root: Path, name: str, keys, layout='flat') -> str:
    key, digest = list_key(name, keys)
    _write(root / 'manifests' / key / 'frames.json',
           dict(name=name, image_set=None, layout=layout, sha256=digest,
                keys=list(keys)))
    return key


def _shard(root: Path, list_dir: str, num_shards: int, shard_id: int,
           status='finished', failures=(), finished='2026-01-01T00:00:00Z',
           frames_per_s=0.0, wall_s=0.0) -> None:
    _write(root / 'manifests' / list_dir /
           f'shard-{shard_id:05d}-of-{num_shards:05d}.json',
           dict(shard=dict(num_shards=num_shards, shard_id=shard_id),
                status=status, failures=list(failures),
                run=dict(finished=finished),
                timings=dict(frames_per_s=frames_per_s, wall_s=wall_s),
                versions=dict(msfam_mm=f'run {finished}')))


def _output(root: Path, rel: str, offset_s: int) -> None:
    """An output written ``offset_s`` seconds after ``since``."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'png')
    t = SINCE_NS + offset_s * 10**9
    os.utime(path, ns=(t, t))


def test_frames_are_done_failed_or_pending(tmp_path):
    """keys a b c d, two shards (0: a c, 1: b d):
    a  output after since              -> done
    b  output after since (shard 1 unfinished; the file counts) -> done
    c  no output, failed in shard 0    -> failed
    d  output older than since         -> pending (out of date)"""
    lst = _list(tmp_path, 'folders', ['a', 'b', 'c', 'd'])
    _settings(tmp_path)
    _shard(tmp_path, lst, 2, 0, failures=[dict(key='c', reason='truncated')],
           frames_per_s=2.5, wall_s=4.0)
    _shard(tmp_path, lst, 2, 1, status='unfinished')
    _output(tmp_path, 'a.png', 5)
    _output(tmp_path, 'b.png', 0)  # same ns as since: current
    _output(tmp_path, 'd.png', -1)
    merged = merge_manifests(tmp_path)
    assert merged['counts'] == dict(total=4, done=2, failed=1, pending=1)
    assert not merged['complete']
    assert merged['failures'] == [dict(key='c', reason='truncated')]
    [entry] = merged['lists']
    assert entry['counts'] == merged['counts'] and not entry['complete']
    assert entry['shardings'] == [dict(
        num_shards=2, finished=[0], unfinished=[1], missing=[],
        frames_per_s_sum=2.5, slowest_wall_s=4.0)]
    assert merged['settings'] == SETTINGS
    # the merged view is written as returned (merged_at aside)
    on_disk = json.loads((tmp_path / 'manifest.json').read_text())
    assert on_disk == json.loads(json.dumps(merged))


def test_a_list_is_complete_only_with_all_its_frames(tmp_path):
    """List x = [f1, f2] and list y = [f2, f3] share f2; f1 and f2 exist.
    x is complete, y is not, and the merged counts go over the three
    distinct frames: done 2, pending 1."""
    x = _list(tmp_path, 'x', ['set00/V000/I00001', 'set00/V000/I00002'],
              layout='kaist')
    y = _list(tmp_path, 'y', ['set00/V000/I00002', 'set00/V000/I00003'],
              layout='kaist')
    _settings(tmp_path)
    _shard(tmp_path, x, 1, 0)
    _shard(tmp_path, y, 3, 2)
    for i in (1, 2):
        _output(tmp_path, f'images/set00/V000/fused/I0000{i}.png', 1)
    merged = merge_manifests(tmp_path)
    lists = {e['name']: e for e in merged['lists']}
    assert lists['x']['complete'] and not lists['y']['complete']
    assert lists['y']['counts'] == dict(total=2, done=1, failed=0, pending=1)
    # shard 2 of 3 ran: shards 0 and 1 are missing
    assert lists['y']['shardings'][0]['missing'] == [0, 1]
    assert merged['counts'] == dict(total=3, done=2, failed=0, pending=1)
    assert not merged['complete']
    _output(tmp_path, 'images/set00/V000/fused/I00003.png', 1)
    assert merge_manifests(tmp_path)['complete']


def test_latest_failure_wins_and_an_output_clears_it(tmp_path):
    lst = _list(tmp_path, 'folders', ['a', 'b'])
    _settings(tmp_path)
    _shard(tmp_path, lst, 1, 0, finished='2026-01-02T00:00:00Z',
           failures=[dict(key='a', reason='new'),
                     dict(key='b', reason='b failed once')])
    _shard(tmp_path, lst, 2, 0, finished='2026-01-01T00:00:00Z',
           failures=[dict(key='a', reason='old')])
    _output(tmp_path, 'b.png', 1)  # fused since: no longer a failure
    merged = merge_manifests(tmp_path)
    assert merged['failures'] == [dict(key='a', reason='new')]
    assert merged['counts'] == dict(total=2, done=1, failed=1, pending=0)
    # the versions come from the newest shard record on disk
    shards = tmp_path / 'manifests' / lst
    for name, t in (('shard-00000-of-00001.json', 2_000_000_000),
                    ('shard-00000-of-00002.json', 1_000_000_000)):
        os.utime(shards / name, (t, t))
    assert merge_manifests(tmp_path)['versions'] == dict(
        msfam_mm='run 2026-01-02T00:00:00Z')


def test_retired_records_and_unknown_folders_are_left_out(tmp_path):
    lst = _list(tmp_path, 'folders', ['a'])
    _settings(tmp_path)
    _shard(tmp_path, lst, 1, 0)
    _output(tmp_path, 'a.png', 1)
    # records of replaced settings, and a folder that holds no list
    retired = tmp_path / 'manifests' / 'retired' / '20260101T000000Z-abc'
    _write(retired / lst / 'frames.json', dict(
        name='old', image_set=None, layout='flat', sha256='0', keys=['z']))
    _write(retired / lst / 'shard-00000-of-00001.json', dict(
        shard=dict(num_shards=1, shard_id=0), status='finished',
        failures=[dict(key='a', reason='retired')]))
    (tmp_path / 'manifests' / 'no-frames-json').mkdir()
    merged = merge_manifests(tmp_path)
    assert [e['name'] for e in merged['lists']] == ['folders']
    assert merged['complete'] and merged['failures'] == []


def test_missing_or_foreign_records_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match='holds no fusing records'):
        merge_manifests(tmp_path / 'absent')
    assert not (tmp_path / 'absent').exists()
    (tmp_path / 'manifests').mkdir()
    with pytest.raises(ValueError, match='settings.json is missing'):
        merge_manifests(tmp_path)
    _write(tmp_path / 'manifests' / 'settings.json', dict(settings={}))
    with pytest.raises(ValueError, match='without settings/since_ns'):
        merge_manifests(tmp_path)
    _settings(tmp_path)
    lst = _list(tmp_path, 'folders', ['a'])
    (tmp_path / 'manifests' / lst / 'shard-00000-of-00001.json') \
        .write_text('{not json')
    with pytest.raises(ValueError, match='unreadable shard manifest'):
        merge_manifests(tmp_path)
