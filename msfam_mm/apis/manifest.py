"""Run records of the fusing tools: settings, frame lists, what was fused,
what failed, and whether a fused set is complete.

Layout under OUT_ROOT::

    manifests/settings.json                  identity settings of every
                                             output here, and since when
    manifests/<list>/frames.json             one frame list (image set)
    manifests/<list>/shard-KKKKK-of-NNNNN.json   one run of one shard of it
    manifests/retired/<time>/...             records of replaced settings
    manifest.json                            the merged view

``<list>`` is the list's name plus a digest of its frame ids, so shards of
different lists (or of an edited list) never count as one run. A shard
writes its manifest (``status: unfinished``) and ``settings.json`` before
its first output, and replaces the manifest when it finishes, so a killed
run still records what it was doing.

Completeness is read from the disk, not added up from counts: a frame is
done when its output exists and is not older than ``settings.json``'s
``since`` (outputs are written atomically, so an existing output is whole;
an ``--overwrite`` with other settings starts a new ``since``, which marks
every older output out of date until it is fused again). A list is
complete when all its frames are done; ``manifest.json`` is complete when
every list in OUT_ROOT is.

Example:
    >>> merged = merge_manifests('/data/kaist_fused')   # doctest: +SKIP
    >>> [e['name'] for e in merged['lists']]       # doctest: +SKIP
    ['test-all-20', 'train-all-02']
    >>> merged['complete']                          # doctest: +SKIP
    True
"""
import contextlib
import hashlib
import json
import os
import platform
import re
import secrets
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ..utils.atomic_io import write_bytes_atomic

PathLike = Union[str, os.PathLike]

MANIFEST_NAME = 'manifest.json'
SHARD_DIR = 'manifests'
SETTINGS_NAME = 'settings.json'
FRAMES_NAME = 'frames.json'
RETIRED_DIR = 'retired'
#: settings that must agree between a run and the outputs already present
IDENTITY_KEYS = ('method', 'config_sha256', 'checkpoint_sha256', 'precision',
                 'color', 'normalize', 'ext', 'jpeg_quality', 'modality',
                 'method_options', 'inputs')
#: ``frames.json`` layouts: where the output of frame key K lies
LAYOUTS = ('kaist', 'flat')


def now_iso() -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def versions() -> Dict[str, str]:
    """Versions of the software that produced the outputs."""
    import cv2
    import numpy
    import torch
    out = dict(python=sys.version.split()[0], platform=platform.platform(),
               torch=torch.__version__, numpy=numpy.__version__,
               opencv=cv2.__version__)
    for mod in ('mmengine', 'mmcv', 'mmdet', 'msfam_mm'):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001  (a missing package is reported)
            out[mod] = 'not importable'
    return out


def write_json_atomic(path: PathLike, data: Dict) -> None:
    write_bytes_atomic(path, (json.dumps(data, indent=2, sort_keys=True)
                              + '\n').encode('utf-8'))


def read_json(path: PathLike) -> Dict:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _read_record(path: Path, what: str) -> Dict:
    try:
        data = read_json(path)
    except (OSError, ValueError) as e:
        raise ValueError(f'{path}: unreadable {what} ({e}); remove it or '
                         'choose another output folder') from None
    if not isinstance(data, dict):
        raise ValueError(f'{path}: unreadable {what} (not a JSON object)')
    return data


def output_relpath(layout: str, key: str, modality: str, ext: str) -> str:
    """Path of frame ``key``'s output relative to OUT_ROOT."""
    if layout == 'kaist':
        s, v, i = key.split('/')
        return f'images/{s}/{v}/{modality}/{i}.{ext}'
    if layout == 'flat':
        return f'{key}.{ext}'
    raise ValueError(f'unknown output layout {layout!r}; expected {LAYOUTS}')


def list_key(name: str, keys: Sequence[str]) -> Tuple[str, str]:
    """(folder name, sha256) of a frame list: the digest covers the frame
    ids, so an edited list or a different walk is a different list."""
    digest = hashlib.sha256('\n'.join(keys).encode('utf-8')).hexdigest()
    safe = re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('._') or 'list'
    return f'{safe}-{digest[:12]}', digest


def shard_manifest_path(out_root: PathLike, key: str, num_shards: int,
                        shard_id: int) -> Path:
    return Path(out_root) / SHARD_DIR / key / \
        f'shard-{shard_id:05d}-of-{num_shards:05d}.json'


def settings_conflict(old: Dict, new: Dict) -> List[str]:
    """Identity settings that differ between two ``settings`` dicts."""
    return [k for k in IDENTITY_KEYS if old.get(k) != new.get(k)]


def _describe_conflict(old: Dict, new: Dict, diff: Iterable[str]) -> str:
    return ', '.join(f'{k}: {old.get(k)!r} -> {new.get(k)!r}' for k in diff)


def _legacy_records(out_root: Path) -> List[Path]:
    """Manifests of the earlier layout (no settings.json, shard manifests
    directly under manifests/)."""
    paths = [out_root / MANIFEST_NAME]
    if (out_root / SHARD_DIR).is_dir():
        paths += sorted((out_root / SHARD_DIR).glob('shard-*.json'))
    return [p for p in paths if p.is_file()]


def read_settings_record(out_root: PathLike) -> Optional[Dict]:
    """``manifests/settings.json`` of OUT_ROOT, or ``None`` when absent."""
    path = Path(out_root) / SHARD_DIR / SETTINGS_NAME
    if not path.is_file():
        return None
    record = _read_record(path, 'settings record')
    if not isinstance(record.get('settings'), dict) or \
            not isinstance(record.get('since_ns'), int):
        raise ValueError(f'{path}: settings record without settings/since_ns'
                         '; remove OUT_ROOT or choose another output folder')
    return record


def check_existing_settings(out_root: PathLike, settings: Dict,
                            overwrite: bool = False,
                            outputs_exist=None) -> Optional[int]:
    """Refuse to mix outputs of different settings in one OUT_ROOT.

    Reads only. Args:
        out_root: the output folder.
        settings: this run's :func:`~.kaist_fusion.fusion_settings`.
        overwrite: the run fuses all its frames again; other settings are
            then allowed (they start a new ``since``).
        outputs_exist: callable telling whether any of this run's outputs
            already exist; asked only when OUT_ROOT has no settings record
            (outputs of unknown settings are refused).

    Returns:
        ``since_ns`` of the record when it matches (outputs older than it
        are out of date), else ``None``.

    Raises:
        ValueError: naming the record and the differing settings.
    """
    out_root = Path(out_root)
    record = read_settings_record(out_root)
    if record is not None:
        diff = settings_conflict(record['settings'], settings)
        if not diff:
            return record['since_ns']
        if overwrite:
            return None
        raise ValueError(
            f'{out_root} already holds outputs made with other settings '
            f'({out_root / SHARD_DIR / SETTINGS_NAME}: '
            f'{_describe_conflict(record["settings"], settings, diff)}); '
            'use another output folder, or --overwrite to fuse again with '
            'the new settings (other frames already there are then out of '
            'date until fused again)')
    if overwrite:
        return None
    legacy = _legacy_records(out_root)
    if legacy:
        p = legacy[0]
        old = _read_record(p, 'manifest').get('settings', {})
        diff = settings_conflict(old, settings)
        raise ValueError(
            f'{out_root} holds outputs of an earlier version of this tool '
            f'({p}; it records no {SHARD_DIR}/{SETTINGS_NAME}'
            + (f'; differs: {_describe_conflict(old, settings, diff)}'
               if diff else '') + '); use another output folder, or '
            '--overwrite to fuse every frame again')
    if outputs_exist is not None and outputs_exist():
        raise ValueError(
            f'{out_root} holds fused images but no record of the settings '
            f'they were made with ({out_root / SHARD_DIR / SETTINGS_NAME} '
            'is missing); use another output folder, or --overwrite to fuse '
            'every frame again')
    return None


@contextlib.contextmanager
def _locked(out_root: Path):
    """Exclusive advisory lock (POSIX ``flock``) on OUT_ROOT's records."""
    path = out_root / SHARD_DIR / '.lock'
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'a+') as f:
        try:
            import fcntl
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        except ImportError:  # non-POSIX: merges are then not serialised
            pass
        yield


def _file_clock_ns(folder: Path) -> int:
    """The current time as the file system stamps it (an output's mtime is
    compared with it, so both must come from the same clock, which on a
    network file system is the server's)."""
    probe = folder / f'.clock-probe-{secrets.token_hex(6)}'
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        os.write(fd, b'.')
        return os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)
        os.unlink(probe)


def _retire_records(shard_dir: Path) -> Optional[str]:
    """Move the shard manifests of replaced settings out of the merge;
    return where they went (relative to ``shard_dir``), ``None`` if none."""
    dst_root = shard_dir / RETIRED_DIR / (
        time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        + f'-{secrets.token_hex(3)}')
    moved = False
    for p in sorted(shard_dir.glob('shard-*.json')) + \
            sorted(shard_dir.glob('*/shard-*.json')):
        if p.parent.name == RETIRED_DIR:
            continue
        dst = dst_root / p.relative_to(shard_dir)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p, dst)
        moved = True
    return os.fspath(dst_root.relative_to(shard_dir)) if moved else None


def begin_run(out_root: PathLike, settings: Dict, overwrite: bool,
              expected_since: Optional[int], shard_manifest: Dict,
              keys: Sequence[str], layout: str) -> int:
    """Record a run before its first output; return ``since_ns``.

    Under the lock: re-checks the settings record (another process may have
    changed it since :func:`check_existing_settings`), writes
    ``settings.json`` when OUT_ROOT has none or ``overwrite`` replaces its
    settings (the old shard manifests are moved to ``manifests/retired``),
    the list's ``frames.json`` and this shard's manifest with
    ``status: unfinished``; then merges.

    Args:
        shard_manifest: this shard's manifest so far: its ``shard`` ids and
            its ``list`` (``key`` and ``sha256`` from :func:`list_key`,
            ``name``, ``image_set``).
        keys: the frame ids of the whole list.
        layout: where a frame's output lies (one of :data:`LAYOUTS`).
    """
    out_root = Path(out_root)
    shard_dir = out_root / SHARD_DIR
    with _locked(out_root):
        record = read_settings_record(out_root)
        if record is not None and \
                not settings_conflict(record['settings'], settings):
            if expected_since is not None and \
                    record['since_ns'] != expected_since:
                raise ValueError(f'{shard_dir / SETTINGS_NAME} changed while '
                                 'this run started (another run with '
                                 '--overwrite?); run again')
            since = record['since_ns']
        else:
            if record is not None and not overwrite:
                raise ValueError(
                    f'{shard_dir / SETTINGS_NAME} changed while this run '
                    'started: ' + _describe_conflict(
                        record['settings'], settings,
                        settings_conflict(record['settings'], settings)))
            retired = _retire_records(shard_dir)
            since = _file_clock_ns(shard_dir)
            write_json_atomic(shard_dir / SETTINGS_NAME, dict(
                settings=settings, since_ns=since, since=now_iso(),
                replaced=dict(settings=record['settings'],
                              since=record.get('since'),
                              records=retired) if record else None))
        lst = shard_manifest['list']
        list_path = shard_dir / lst['key'] / FRAMES_NAME
        if not list_path.is_file():
            write_json_atomic(list_path, dict(
                name=lst['name'], image_set=lst['image_set'], layout=layout,
                sha256=lst['sha256'], keys=list(keys)))
        sh = shard_manifest['shard']
        write_json_atomic(
            shard_manifest_path(out_root, lst['key'], sh['num_shards'],
                                sh['shard_id']),
            dict(shard_manifest, status='unfinished'))
    merge_manifests(out_root)
    return since


def finish_run(out_root: PathLike, shard_manifest: Dict) -> Dict:
    """Replace the shard's unfinished manifest by the final one; merge."""
    sh = shard_manifest['shard']
    write_json_atomic(
        shard_manifest_path(out_root, shard_manifest['list']['key'],
                            sh['num_shards'], sh['shard_id']),
        dict(shard_manifest, status='finished'))
    return merge_manifests(out_root)


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
    info = _read_record(folder / FRAMES_NAME, 'frame list')
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
        m = _read_record(p, 'shard manifest')
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
    with _locked(out_root):
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
            versions=(_read_record(latest, 'shard manifest')
                      .get('versions', {}) if latest else {}),
            merged_at=now_iso(),
        )
        write_json_atomic(out_root / MANIFEST_NAME, merged)
        return merged
