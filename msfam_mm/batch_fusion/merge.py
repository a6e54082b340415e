"""Merge OUT_ROOT's run records into ``manifest.json``: which frames are
done, which failed, which lists and shards are complete (:mod:`.records`
describes the records).

Example:
    >>> merged = merge_manifests('/data/kaist_fused')   # doctest: +SKIP
    >>> [e['name'] for e in merged['lists']]       # doctest: +SKIP
    ['test-all-20', 'train-all-02']
    >>> merged['complete']                          # doctest: +SKIP
    True
"""
import os
from collections import defaultdict
from pathlib import Path
from typing import Dict, Tuple, Union

from .records import (FRAMES_NAME, LAYOUTS, MANIFEST_NAME, RETIRED_DIR,
                      SETTINGS_NAME, SHARD_DIR, now_iso, output_relpath,
                      read_record, read_settings_record, records_lock,
                      write_json_atomic)

__all__ = ['merge_manifests']

PathLike = Union[str, os.PathLike]


def _fresh_outputs(out_root: Path, rels: Dict[str, str],
                   since_ns: int) -> set:
    """Keys whose output exists and is not older than ``since_ns``; one
    directory listing per folder (cheap on network file systems too)."""
    by_dir: Dict[str, Dict[str, str]] = defaultdict(dict)
    for key, rel in rels.items():
        folder, _, name = rel.rpartition('/')
        by_dir[folder][name] = key
    done = set()
    for folder, names in by_dir.items():
        try:
            with os.scandir(out_root / folder) as it:
                for entry in it:
                    key = names.get(entry.name)
                    if key is not None and entry.is_file() and \
                            entry.stat().st_mtime_ns >= since_ns:
                        done.add(key)
        except (FileNotFoundError, NotADirectoryError):
            continue
    return done


def _merge_list(out_root: Path, folder: Path, settings: Dict,
                since_ns: int) -> Tuple[Dict, Dict[str, str], Dict]:
    """One list's state -> (entry, key -> status, key -> failure)."""
    info = read_record(folder / FRAMES_NAME, 'frame list')
    keys = info.get('keys')
    if not isinstance(keys, list) or info.get('layout') not in LAYOUTS:
        raise ValueError(f'{folder / FRAMES_NAME}: frame list without keys '
                         'or layout')
    rels = {k: output_relpath(info['layout'], k, settings['modality'],
                              settings['ext']) for k in keys}
    done = _fresh_outputs(out_root, rels, since_ns)
    shardings: Dict[int, Dict] = {}
    last_failure: Dict[str, Tuple[str, Dict]] = {}
    for p in sorted(folder.glob('shard-*-of-*.json')):
        m = read_record(p, 'shard manifest')
        try:
            n, k = m['shard']['num_shards'], m['shard']['shard_id']
        except (KeyError, TypeError):
            raise ValueError(f'{p}: shard manifest without shard ids') \
                from None
        g = shardings.setdefault(n, dict(num_shards=n, finished=[],
                                         unfinished=[], frames_per_s_sum=0.0,
                                         slowest_wall_s=0.0))
        if m.get('status') != 'finished':
            g['unfinished'].append(k)
            continue
        g['finished'].append(k)
        timings = m.get('timings', {})
        g['frames_per_s_sum'] += timings.get('frames_per_s', 0.0)
        g['slowest_wall_s'] = max(g['slowest_wall_s'],
                                  timings.get('wall_s', 0.0))
        finished = m.get('run', {}).get('finished', '')
        for f in m.get('failures', []):
            old = last_failure.get(f['key'])
            if old is None or old[0] <= finished:
                last_failure[f['key']] = (finished, f)
    for g in shardings.values():
        g['missing'] = sorted(set(range(g['num_shards'])) - set(g['finished'])
                              - set(g['unfinished']))
    status, failures = {}, {}
    for k in keys:
        if k in done:
            status[k] = 'done'
        elif k in last_failure:
            status[k] = 'failed'
            failures[k] = last_failure[k][1]
        else:
            status[k] = 'pending'
    counts = dict(total=len(keys), done=len(done),
                  failed=len(failures),
                  pending=len(keys) - len(done) - len(failures))
    entry = dict(key=folder.name, name=info.get('name'),
                 image_set=info.get('image_set'), sha256=info.get('sha256'),
                 counts=counts, complete=counts['done'] == counts['total'],
                 shardings=[shardings[n] for n in sorted(shardings)])
    return entry, status, failures


def merge_manifests(out_root: PathLike) -> Dict:
    """Merge OUT_ROOT's records into ``manifest.json`` (under the lock).

    Returns:
        The merged manifest: ``settings``, ``lists`` (per frame list: its
        counts, ``complete`` and which shards finished), ``counts`` and
        ``failures`` over the distinct frames of all lists, ``complete``
        (every frame of every list done). Frames are ``done`` (output
        present and current), ``failed`` (absent; the latest attempt's
        reason is in ``failures``) or ``pending`` (not fused yet, out of
        date, or their shard has not finished).

    Raises:
        FileNotFoundError: OUT_ROOT has no records (nothing is created).
        ValueError: a record is unreadable, or OUT_ROOT was written by an
            earlier version of the tool.
    """
    out_root = Path(out_root)
    shard_dir = out_root / SHARD_DIR
    if not shard_dir.is_dir():
        raise FileNotFoundError(f'{shard_dir} does not exist: {out_root} '
                                'holds no fusing records')
    with records_lock(out_root):
        record = read_settings_record(out_root)
        if record is None:
            raise ValueError(f'{shard_dir / SETTINGS_NAME} is missing: '
                             f'{out_root} was not written by this version '
                             'of the fusing tools')
        settings, since_ns = record['settings'], record['since_ns']
        lists, status, failures = [], {}, {}
        for folder in sorted(p for p in shard_dir.iterdir()
                             if p.is_dir() and p.name != RETIRED_DIR):
            if not (folder / FRAMES_NAME).is_file():
                continue
            entry, st, fl = _merge_list(out_root, folder, settings, since_ns)
            lists.append(entry)
            for k, s in st.items():
                # a frame in several lists has one output: any list that
                # sees it done is right, a failure beats pending
                if status.get(k) != 'done' and (s != 'pending'
                                                or k not in status):
                    status[k] = s
            failures.update(fl)
        values = list(status.values())
        counts = dict(total=len(values), done=values.count('done'),
                      failed=values.count('failed'),
                      pending=values.count('pending'))
        # the software versions of the newest shard record
        latest = max((p for p in shard_dir.glob('*/shard-*.json')
                      if p.parent.name != RETIRED_DIR),
                     key=lambda p: p.stat().st_mtime, default=None)
        merged = dict(
            settings=settings,
            settings_since=record.get('since'),
            replaced_settings=record.get('replaced'),
            complete=bool(lists) and counts['done'] == counts['total'],
            counts=counts,
            failures=[failures[k] for k in sorted(failures)
                      if status.get(k) == 'failed'],
            lists=lists,
            versions=(read_record(latest, 'shard manifest')
                      .get('versions', {}) if latest else {}),
            merged_at=now_iso(),
        )
        write_json_atomic(out_root / MANIFEST_NAME, merged)
        return merged
