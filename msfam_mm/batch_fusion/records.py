"""Run records: what a fused set was made with, which frame lists it
holds and what each run (shard) of them did.

Layout under OUT_ROOT::

    manifests/settings.json                  identity settings of every
                                             output here, and since when
    manifests/<list>/frames.json             one frame list (image set)
    manifests/<list>/shard-KKKKK-of-NNNNN.json   one run of one shard of it
    manifests/retired/<time>/...             records of replaced settings
    manifest.json                            the merged view (.merge)

``<list>`` is the list's name plus a digest of its frame ids, so shards of
different lists (or of an edited list) never count as one run. A shard
writes its manifest (``status: unfinished``) and ``settings.json`` before
its first output (:func:`record_start`), and replaces the manifest when it
finishes (:func:`record_finish`), so a killed run still records what it
was doing.

Completeness is read from the disk, not added up from counts
(:func:`~.merge.merge_manifests`): a frame is done when its output exists
and is not older than ``settings.json``'s ``since`` (outputs are written
atomically, so an existing output is whole; an ``overwrite`` with other
settings starts a new ``since``, which marks every older output out of
date until it is fused again).

Example:
    >>> since = check_existing_settings('out', settings)  # doctest: +SKIP
    >>> record_start('out', settings, False, since, manifest, keys,
    ...              'flat')                             # doctest: +SKIP
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
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from msfam_mm.datasets.kaist.layout import kaist_image_path
from msfam_mm.utils.atomic_io import write_bytes_atomic
from .errors import ArgumentError
from .settings import describe_conflict, settings_conflict

__all__ = ['MANIFEST_NAME', 'SHARD_DIR', 'SETTINGS_NAME', 'FRAMES_NAME',
           'RETIRED_DIR', 'LAYOUTS', 'now_iso', 'versions', 'read_record',
           'write_json_atomic', 'output_relpath', 'list_key',
           'shard_manifest_path', 'read_settings_record',
           'check_existing_settings', 'records_lock', 'record_start',
           'record_finish']

PathLike = Union[str, os.PathLike]

MANIFEST_NAME = 'manifest.json'
SHARD_DIR = 'manifests'
SETTINGS_NAME = 'settings.json'
FRAMES_NAME = 'frames.json'
RETIRED_DIR = 'retired'
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
    # read from the installed metadata, not by importing: importing mmdet
    # would load the detection stack into a fusing process
    from importlib.metadata import PackageNotFoundError, version
    for dist in ('mmengine', 'mmcv', 'mmdet', 'msfam_mm', 'onnxruntime',
                 'openvino'):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = 'not installed'
    return out


def write_json_atomic(path: PathLike, data: Dict) -> None:
    write_bytes_atomic(path, (json.dumps(data, indent=2, sort_keys=True)
                              + '\n').encode('utf-8'))


def read_record(path: Path, what: str) -> Dict:
    """A JSON record as a dict.

    Raises:
        ValueError: naming the file when it cannot be read or parsed, or
            holds no JSON object.
    """
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f'{path}: unreadable {what} ({e}); remove it or '
                         'choose another output folder') from None
    if not isinstance(data, dict):
        raise ValueError(f'{path}: unreadable {what} (not a JSON object)')
    return data


def output_relpath(layout: str, key: str, modality: str, ext: str) -> str:
    """Path of frame ``key``'s output relative to OUT_ROOT."""
    if layout == 'kaist':
        return kaist_image_path('', key, modality, '.' + ext)
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
    record = read_record(path, 'settings record')
    if not isinstance(record.get('settings'), dict) or \
            not isinstance(record.get('since_ns'), int):
        raise ValueError(f'{path}: settings record without settings/since_ns'
                         '; remove the output folder or choose another one')
    return record


def check_existing_settings(out_root: PathLike, settings: Dict,
                            overwrite: bool = False,
                            outputs_exist=None) -> Optional[int]:
    """Refuse to mix outputs of different settings in one OUT_ROOT.

    Reads only. Args:
        out_root: the output folder.
        settings: this run's :func:`~.settings.fusion_settings`.
        overwrite: the run fuses all its frames again; other settings are
            then allowed (they start a new ``since``).
        outputs_exist: callable telling whether any of this run's outputs
            already exist; asked only when OUT_ROOT has no settings record
            (outputs of unknown settings are refused).

    Returns:
        ``since_ns`` of the record when it matches (outputs older than it
        are out of date), else ``None``.

    Raises:
        ArgumentError: naming the record and the differing settings.
    """
    out_root = Path(out_root)
    record = read_settings_record(out_root)
    if record is not None:
        diff = settings_conflict(record['settings'], settings)
        if not diff:
            return record['since_ns']
        if overwrite:
            return None
        raise ArgumentError(
            '{0} already holds outputs made with other settings ({1}: {2}); '
            'use another output folder, or {overwrite} to fuse again with '
            'the new settings (other frames already there are then out of '
            'date until fused again)', out_root,
            out_root / SHARD_DIR / SETTINGS_NAME,
            describe_conflict(record['settings'], settings, diff))
    if overwrite:
        return None
    legacy = _legacy_records(out_root)
    if legacy:
        p = legacy[0]
        old = read_record(p, 'manifest').get('settings', {})
        diff = settings_conflict(old, settings)
        raise ArgumentError(
            '{0} holds outputs of an earlier version of this tool ({1}; it '
            'records no {2}{3}); use another output folder, or {overwrite} '
            'to fuse every frame again', out_root, p,
            f'{SHARD_DIR}/{SETTINGS_NAME}',
            f'; differs: {describe_conflict(old, settings, diff)}'
            if diff else '')
    if outputs_exist is not None and outputs_exist():
        raise ArgumentError(
            '{0} holds fused images but no record of the settings they were '
            'made with ({1} is missing); use another output folder, or '
            '{overwrite} to fuse every frame again', out_root,
            out_root / SHARD_DIR / SETTINGS_NAME)
    return None


@contextlib.contextmanager
def records_lock(out_root: PathLike) -> Iterator[None]:
    """Exclusive advisory lock (POSIX ``flock``) on OUT_ROOT's records."""
    path = Path(out_root) / SHARD_DIR / '.lock'
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


def record_start(out_root: PathLike, settings: Dict, overwrite: bool,
                 expected_since: Optional[int], shard_manifest: Dict,
                 keys: Sequence[str], layout: str) -> int:
    """Put a run on record before its first output; return ``since_ns``.

    Under the lock: re-checks the settings record (another process may have
    changed it since :func:`check_existing_settings`), writes
    ``settings.json`` when OUT_ROOT has none or ``overwrite`` replaces its
    settings (the old shard manifests are moved to ``manifests/retired``),
    the list's ``frames.json`` and this shard's manifest with
    ``status: unfinished``.

    Args:
        shard_manifest: this shard's manifest so far: its ``shard`` ids and
            its ``list`` (``key`` and ``sha256`` from :func:`list_key`,
            ``name``, ``image_set``).
        keys: the frame ids of the whole list.
        layout: where a frame's output lies (one of :data:`LAYOUTS`).
    """
    out_root = Path(out_root)
    shard_dir = out_root / SHARD_DIR
    with records_lock(out_root):
        record = read_settings_record(out_root)
        if record is not None and \
                not settings_conflict(record['settings'], settings):
            if expected_since is not None and \
                    record['since_ns'] != expected_since:
                raise ArgumentError('{0} changed while this run started '
                                    '(another run with {overwrite}?); run '
                                    'again', shard_dir / SETTINGS_NAME)
            since = record['since_ns']
        else:
            if record is not None and not overwrite:
                raise ValueError(
                    f'{shard_dir / SETTINGS_NAME} changed while this run '
                    'started: ' + describe_conflict(
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
    return since


def record_finish(out_root: PathLike, shard_manifest: Dict) -> None:
    """Replace the shard's unfinished manifest by the final one."""
    sh = shard_manifest['shard']
    write_json_atomic(
        shard_manifest_path(out_root, shard_manifest['list']['key'],
                            sh['num_shards'], sh['shard_id']),
        dict(shard_manifest, status='finished'))
