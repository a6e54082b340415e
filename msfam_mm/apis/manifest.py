"""Run manifests of the fusing tools: what was fused, how, and what failed.

Each run of a shard writes ``OUT_ROOT/manifests/shard-KKKKK-of-NNNNN.json``
(atomically); :func:`merge_manifests` combines the shard manifests of one
sharding into ``OUT_ROOT/manifest.json`` under a file lock, so shards that
finish at the same moment cannot drop each other. Any rerun (or
``fuse_kaist.py --merge-only``) merges again.

Example:
    >>> merged = merge_manifests('/data/kaist_fused', num_shards=4)  # doctest: +SKIP
    >>> merged['complete'], merged['counts']['failed']   # doctest: +SKIP
    (True, 0)
"""
import contextlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Union

from .image_io import write_bytes_atomic

MANIFEST_NAME = 'manifest.json'
SHARD_DIR = 'manifests'
#: settings that must agree between a run and the outputs already present
IDENTITY_KEYS = ('method', 'config_sha256', 'checkpoint_sha256', 'precision',
                 'color', 'normalize', 'ext', 'jpeg_quality', 'modality',
                 'method_options')


def shard_manifest_path(out_root: Union[str, os.PathLike], num_shards: int,
                        shard_id: int) -> Path:
    return Path(out_root) / SHARD_DIR / \
        f'shard-{shard_id:05d}-of-{num_shards:05d}.json'


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


def write_json_atomic(path: Union[str, os.PathLike], data: Dict) -> None:
    write_bytes_atomic(path, (json.dumps(data, indent=2, sort_keys=True)
                              + '\n').encode('utf-8'))


def read_json(path: Union[str, os.PathLike]) -> Dict:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def settings_conflict(old: Dict, new: Dict) -> List[str]:
    """Identity settings that differ between two manifests' ``settings``."""
    return [k for k in IDENTITY_KEYS if old.get(k) != new.get(k)]


def check_existing_settings(out_root: Union[str, os.PathLike],
                            settings: Dict) -> None:
    """Refuse to mix outputs of different settings in one OUT_ROOT.

    Raises:
        ValueError: naming the manifest and the differing settings.
    """
    out_root = Path(out_root)
    paths = [out_root / MANIFEST_NAME]
    if (out_root / SHARD_DIR).is_dir():
        paths += sorted((out_root / SHARD_DIR).glob('shard-*.json'))
    for p in paths:
        if not p.is_file():
            continue
        try:
            old = read_json(p).get('settings', {})
        except (OSError, ValueError) as e:
            raise ValueError(f'{p}: unreadable manifest ({e}); remove it or '
                             'choose another output folder') from None
        diff = settings_conflict(old, settings)
        if diff:
            detail = ', '.join(f'{k}: {old.get(k)!r} -> {settings.get(k)!r}'
                               for k in diff)
            raise ValueError(
                f'{out_root} already holds outputs made with other settings '
                f'({p}: {detail}); use another output folder, or '
                '--overwrite to fuse every frame again')


@contextlib.contextmanager
def _locked(path: Path):
    """Exclusive advisory lock (POSIX ``flock``) around a merge."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'a+') as f:
        try:
            import fcntl
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        except ImportError:  # non-POSIX: merges are then not serialised
            pass
        yield


def merge_manifests(out_root: Union[str, os.PathLike],
                    num_shards: Optional[int] = None) -> Dict:
    """Merge the shard manifests of one sharding into ``manifest.json``.

    Args:
        out_root: OUT_ROOT of the fusing run.
        num_shards: merge the manifests of this sharding; ``None`` takes
            the sharding of the most recently written shard manifest.
            Manifests of other shardings are listed as ``ignored``.

    Returns:
        The merged manifest (also written to ``out_root/manifest.json``).
        ``complete`` is true when every shard reported and no frame is
        missing or failed.
    """
    out_root = Path(out_root)
    shard_dir = out_root / SHARD_DIR
    with _locked(shard_dir / '.merge.lock'):
        found = []
        for p in sorted(shard_dir.glob('shard-*-of-*.json')):
            try:
                found.append((p, read_json(p)))
            except (OSError, ValueError) as e:
                raise ValueError(f'{p}: unreadable shard manifest ({e})') \
                    from None
        if not found:
            raise FileNotFoundError(f'no shard manifests in {shard_dir}')
        if num_shards is None:
            num_shards = max(found, key=lambda x: x[0].stat().st_mtime
                             )[1]['shard']['num_shards']
        used = [(p, m) for p, m in found
                if m['shard']['num_shards'] == num_shards]
        ignored = [p.name for p, m in found
                   if m['shard']['num_shards'] != num_shards]
        settings = used[0][1]['settings'] if used else {}
        conflicts = sorted({p.name for p, m in used
                            if settings_conflict(settings, m['settings'])})
        keys = ('total', 'done', 'fused', 'skipped_existing', 'failed')
        counts = {k: sum(m['counts'][k] for _, m in used) for k in keys}
        failures = [f for _, m in used for f in m['failures']]
        present = sorted(m['shard']['shard_id'] for _, m in used)
        missing = sorted(set(range(num_shards)) - set(present))
        wall = [m['timings']['wall_s'] for _, m in used]
        merged = dict(
            settings=settings,
            counts=counts,
            failures=failures,
            shards=dict(num_shards=num_shards, present=present,
                        missing=missing,
                        manifests=[p.name for p, _ in used],
                        ignored=ignored, conflicting_settings=conflicts),
            timings=dict(
                slowest_shard_wall_s=max(wall) if wall else 0.0,
                fused_frames_per_s_sum=sum(
                    m['timings']['frames_per_s'] for _, m in used)),
            complete=(not missing and not conflicts
                      and counts['done'] == counts['total']),
            versions=used[-1][1].get('versions', {}) if used else {},
            merged_at=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        )
        write_json_atomic(out_root / MANIFEST_NAME, merged)
        return merged
