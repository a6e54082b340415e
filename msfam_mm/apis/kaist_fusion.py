"""Fuse a KAIST copy into a fused dataset with KAIST's layout (Section 4.4).

``KAIST_ROOT/images/setXX/VYYY/{visible,lwir}/IZZZZZ.*`` becomes
``OUT_ROOT/images/setXX/VYYY/<modality>/IZZZZZ.<ext>`` (modality ``fused``
and ``png`` by default), so the annotation files and image-set lists apply
unchanged and ``KAISTDataset(data_root=OUT_ROOT, modality='fused')`` reads
it. ``annotations/`` and ``imageSets/`` are copied (default; only new or
changed files) or symlinked into OUT_ROOT. KAIST_ROOT is only ever read.

Sharding: frames (sorted by id) are split round-robin into ``num_shards``;
every shard writes its own manifest and merges all of them into
``OUT_ROOT/manifest.json``.

Example:
    >>> result = fuse_kaist('/data/kaist', '/data/kaist_avg',
    ...                     method='average')            # doctest: +SKIP
    >>> result['merged']['complete']                     # doctest: +SKIP
    True
"""
import os
import socket
import time
from pathlib import Path
from typing import Dict, Optional

from .fusion_engine import PairTask, run_fusion
from .image_io import write_bytes_atomic
from .kaist_frames import LWIR, VISIBLE, discover_kaist_frames, shard_items
from .manifest import (check_existing_settings, merge_manifests,
                       shard_manifest_path, versions, write_json_atomic)
from .model_loading import file_sha256

ANNOTATION_MODES = ('copy', 'link', 'none')
_META_DIRS = ('annotations', 'imageSets')


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def fuser_factory(method: str, config, checkpoint, *,
                  method_options: Optional[Dict] = None, **kwargs):
    """A zero-argument callable that builds the fuser: the engine calls it
    only when there is work, so a finished rerun loads no model."""

    def factory():
        from .inferencer import build_fuser
        return build_fuser(method, config, checkpoint, **kwargs,
                           **(method_options or {}))

    return factory


def fusion_settings(method: str, config=None, checkpoint=None,
                    precision: str = 'fp32', color: bool = False,
                    normalize: Optional[str] = None, ext: str = 'png',
                    jpeg_quality: int = 95, modality: str = 'fused',
                    method_options: Optional[Dict] = None) -> Dict:
    """The settings that identify a fused dataset (stored in manifests and
    compared on reruns). Computed without building the model."""
    from .inferencer import build_fuser, list_fusers  # noqa: F401
    from ..registry import FUSERS
    if method not in list_fusers():
        raise KeyError(f'unknown fusion method {method!r}; registered: '
                       f'{", ".join(list_fusers())}')
    cls = FUSERS.get(method)
    for name, path in (('config', config), ('checkpoint', checkpoint)):
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(f'--{name} {path!r} does not exist')
    return dict(
        method=method,
        config=os.fspath(config) if config else None,
        config_sha256=file_sha256(config) if config else None,
        checkpoint=os.fspath(checkpoint) if checkpoint else None,
        checkpoint_sha256=file_sha256(checkpoint) if checkpoint else None,
        precision=precision, color=bool(color),
        normalize=normalize or cls.default_normalize,
        ext=ext.lower().lstrip('.'),
        jpeg_quality=int(jpeg_quality) if ext.lower().lstrip('.') in (
            'jpg', 'jpeg') else None,
        modality=modality, method_options=dict(method_options or {}))


def copy_tree_incremental(src: Path, dst: Path) -> int:
    """Copy regular files of ``src`` into ``dst`` (atomically per file),
    skipping files whose copy already has the same size and mtime."""
    copied = 0
    for dirpath, _, files in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        for name in files:
            s = Path(dirpath) / name
            d = dst / rel / name
            st = s.stat()
            if d.is_file():
                dt = d.stat()
                if dt.st_size == st.st_size and \
                        int(dt.st_mtime) == int(st.st_mtime):
                    continue
            write_bytes_atomic(d, s.read_bytes())
            os.utime(d, (st.st_atime, st.st_mtime))
            copied += 1
    return copied


def export_annotations(kaist_root: Path, out_root: Path, mode: str) -> Dict:
    """Make ``annotations/`` and ``imageSets/`` available under OUT_ROOT."""
    if mode not in ANNOTATION_MODES:
        raise ValueError(f'annotations mode must be one of '
                         f'{ANNOTATION_MODES}, got {mode!r}')
    report = {}
    for sub in _META_DIRS:
        src, dst = kaist_root / sub, out_root / sub
        if mode == 'none' or not src.is_dir():
            report[sub] = 'absent in KAIST_ROOT' if mode != 'none' else 'none'
            continue
        if mode == 'link':
            if dst.is_symlink() and dst.resolve() == src.resolve():
                report[sub] = 'linked'
                continue
            if dst.exists() or dst.is_symlink():
                raise FileExistsError(f'{dst} exists and is not a link to '
                                      f'{src}; remove it or use '
                                      '--annotations copy')
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(src.resolve(), dst, target_is_directory=True)
            report[sub] = 'linked'
        else:
            if dst.is_symlink():
                raise FileExistsError(f'{dst} is a symlink; remove it or use '
                                      '--annotations link')
            report[sub] = f'copied {copy_tree_incremental(src, dst)} files'
    return report


def fuse_kaist(kaist_root, out_root, method: str, config=None,
               checkpoint=None, image_set=None, device: str = 'cpu',
               precision: str = 'fp32', color: bool = False,
               normalize: Optional[str] = None, batch_size: int = 1,
               workers: int = 2, writer_threads: int = 2, ext: str = 'png',
               jpeg_quality: int = 95, modality: str = 'fused',
               num_shards: int = 1, shard_id: int = 0,
               annotations: str = 'copy', overwrite: bool = False,
               progress: bool = True,
               method_options: Optional[Dict] = None) -> Dict:
    """Fuse (one shard of) a KAIST copy; see the module docstring.

    Returns:
        dict with this shard's manifest (``shard``) and the merged manifest
        (``merged``). Failed frames are listed there; the caller decides the
        exit status.

    Raises:
        ValueError/FileNotFoundError/KeyError: bad arguments, an OUT_ROOT
            inside KAIST_ROOT, or OUT_ROOT holding outputs of other settings
            (without ``overwrite``).
    """
    kaist_root, out_root = Path(kaist_root), Path(out_root)
    if _inside(out_root, kaist_root):
        raise ValueError(f'OUT_ROOT {out_root} lies inside KAIST_ROOT '
                         f'{kaist_root}: sources are never written to; '
                         'choose a folder outside it')
    if modality in (VISIBLE, LWIR) or not modality or '/' in modality:
        raise ValueError(f'modality folder name {modality!r} must be a plain '
                         f"name other than 'visible'/'lwir'")
    ext = ext.lower().lstrip('.')
    if ext not in ('png', 'jpg', 'jpeg'):
        raise ValueError(f"ext must be 'png' or 'jpg', got {ext!r}")
    settings = fusion_settings(method, config, checkpoint, precision, color,
                               normalize, ext, jpeg_quality, modality,
                               method_options)
    if not overwrite:
        check_existing_settings(out_root, settings)
    frames = discover_kaist_frames(kaist_root, image_set)
    mine = shard_items(frames, num_shards, shard_id)
    tasks = []
    for f in mine:
        s, v, i = f.frame_id.split('/')
        out = os.fspath(out_root / 'images' / s / v / modality / f'{i}.{ext}')
        missing = []
        if f.visible is None:
            missing.append(f'missing visible image {f.expected(VISIBLE, kaist_root)}')
        if f.lwir is None:
            missing.append(f'missing lwir counterpart {f.expected(LWIR, kaist_root)}')
        tasks.append(PairTask(f.frame_id, f.visible, f.lwir, out,
                              '; '.join(missing)))

    meta = {}
    if shard_id == 0:  # one shard exports the shared text files
        meta = export_annotations(kaist_root, out_root, annotations)

    factory = fuser_factory(method, config, checkpoint, device=device,
                            precision=precision, color=color,
                            normalize=normalize,
                            method_options=method_options)

    started = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    stats = run_fusion(tasks, factory, color=color, batch_size=batch_size,
                       workers=workers, writer_threads=writer_threads,
                       jpeg_quality=jpeg_quality, overwrite=overwrite,
                       progress=progress,
                       desc=f'fuse {method} [{shard_id + 1}/{num_shards}]')
    manifest = dict(
        settings=settings,
        kaist_root=os.fspath(kaist_root.resolve()),
        image_set=os.fspath(image_set) if image_set else None,
        frames_in_dataset=len(frames),
        shard=dict(num_shards=num_shards, shard_id=shard_id),
        run=dict(device=device, batch_size=batch_size, workers=workers,
                 writer_threads=writer_threads, host=socket.gethostname(),
                 started=started,
                 finished=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())),
        layout=f'images/setXX/VYYY/{modality}/IZZZZZ.{ext}',
        annotations=dict(mode=annotations, **meta),
        versions=versions(), **stats)
    write_json_atomic(shard_manifest_path(out_root, num_shards, shard_id),
                      manifest)
    merged = merge_manifests(out_root, num_shards)
    return dict(shard=manifest, merged=merged)


def shard_from_env(num_shards: Optional[int], shard_id: Optional[int]):
    """``--num-shards/--shard-id``, else torchrun's WORLD_SIZE/RANK, else
    one shard. Returns (num_shards, shard_id, local_rank)."""
    local_rank = int(os.environ.get('LOCAL_RANK', 0))
    if num_shards is None:
        num_shards = int(os.environ.get('WORLD_SIZE', 1))
        if shard_id is None:
            shard_id = int(os.environ.get('RANK', 0))
    if shard_id is None:
        shard_id = 0
    return num_shards, shard_id, local_rank


__all__ = ['fuse_kaist', 'fusion_settings', 'export_annotations',
           'copy_tree_incremental', 'shard_from_env']
