"""Fuse a KAIST copy into a fused dataset with KAIST's layout (Section 4.4).

``KAIST_ROOT/images/setXX/VYYY/{visible,lwir}/IZZZZZ.*`` becomes
``OUT_ROOT/images/setXX/VYYY/<modality>/IZZZZZ.<ext>`` (modality ``fused``
and ``png`` by default), so the annotation files and image-set lists apply
unchanged and ``KAISTDataset(data_root=OUT_ROOT, modality='fused')`` reads
it. ``annotations/`` and ``imageSets/`` are copied (default; only new or
changed files) or symlinked into OUT_ROOT. KAIST_ROOT is only ever read.

One OUT_ROOT holds one fused modality made with one set of settings from
one KAIST_ROOT; several frame lists (e.g. the train and the test list, both
needed for detection) may be fused into it, each recorded and checked for
completeness on its own (``msfam_mm.apis.manifest``).

Sharding: frames of a list (sorted by id) are split round-robin into
``num_shards``; every shard writes its own manifest and merges all records
into ``OUT_ROOT/manifest.json``.

Example:
    >>> result = fuse_kaist('/data/kaist', '/data/kaist_avg',
    ...                     method='average')            # doctest: +SKIP
    >>> result['merged']['complete']                     # doctest: +SKIP
    True
"""
import numbers
import os
import socket
import warnings
from pathlib import Path
from typing import Dict, Optional

from .base_fuser import (NORMALIZE_MODES, PRECISIONS, check_method_options,
                         check_precision, resolve_device)
from .fusion_engine import PairTask, run_fusion
from ..utils.atomic_io import write_bytes_atomic
from .kaist_frames import LWIR, VISIBLE, discover_kaist_frames, shard_items
from .manifest import (begin_run, check_existing_settings, finish_run,
                       list_key, now_iso, versions)
from .model_loading import file_sha256

ANNOTATION_MODES = ('copy', 'link', 'none')
_META_DIRS = ('annotations', 'imageSets')


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def fusion_settings(method: str, config=None, checkpoint=None,
                    precision: str = 'fp32', color: bool = False,
                    normalize: Optional[str] = None, ext: str = 'png',
                    jpeg_quality: int = 95, modality: str = 'fused',
                    method_options: Optional[Dict] = None,
                    inputs: Optional[Dict] = None) -> Dict:
    """The settings that identify a fused dataset (stored in manifests and
    compared on reruns), checked without building the model.

    ``msfam`` without config/checkpoint records the shipped files it will
    load (paths and sha256), so naming them explicitly is the same setting
    and a changed shipped file is a different one. ``inputs`` names the
    source folders (resolved paths): outputs of other inputs are never
    reused.

    Raises:
        KeyError: unknown method.
        ValueError: a bad value (named), or config/checkpoint given to a
            method that takes none / missing for one that needs them.
        FileNotFoundError: config or checkpoint missing.
    """
    from .inferencer import list_fusers
    from ..registry import FUSERS
    from . import model_loading
    if method not in list_fusers():
        raise KeyError(f'unknown fusion method {method!r}; registered: '
                       f'{", ".join(list_fusers())}')
    cls = FUSERS.get(method)
    if cls.requires_model:
        if cls.has_default_weights:
            # the shipped files: what MSFAMFuser loads when given None
            for name, given, default in (
                    ('config', config, model_loading.DEFAULT_MSFAM_CONFIG),
                    ('checkpoint', checkpoint,
                     model_loading.DEFAULT_MSFAM_CHECKPOINT)):
                if given is None and not os.path.isfile(default):
                    raise FileNotFoundError(
                        f'no --{name} given and the shipped {default} is '
                        f'missing (it lives in the source checkout); pass '
                        f'--{name}')
            config = config if config is not None else \
                model_loading.DEFAULT_MSFAM_CONFIG
            checkpoint = checkpoint if checkpoint is not None else \
                model_loading.DEFAULT_MSFAM_CHECKPOINT
        elif config is None or checkpoint is None:
            raise ValueError(f'fusion method {method!r} needs both a config '
                             'and a checkpoint (--config, --checkpoint)')
    elif config is not None or checkpoint is not None:
        raise ValueError(f'fusion method {method!r} needs no config or '
                         'checkpoint; drop --config/--checkpoint')
    for name, path in (('config', config), ('checkpoint', checkpoint)):
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(f'--{name} {os.fspath(path)!r} does not '
                                    'exist')
    if precision not in PRECISIONS:
        raise ValueError(f'--precision must be one of {PRECISIONS}, got '
                         f'{precision!r}')
    if normalize is not None and normalize not in NORMALIZE_MODES:
        raise ValueError(f'--normalize must be one of {NORMALIZE_MODES}, '
                         f'got {normalize!r}')
    ext = ext.lower().lstrip('.')
    if ext not in ('png', 'jpg', 'jpeg'):
        raise ValueError(f"--ext must be 'png' or 'jpg', got {ext!r}")
    if isinstance(jpeg_quality, bool) or \
            not isinstance(jpeg_quality, numbers.Integral) or \
            not 0 <= jpeg_quality <= 100:
        raise ValueError(f'--jpeg-quality must be an integer in 0..100 '
                         '(OpenCV IMWRITE_JPEG_QUALITY), got '
                         f'{jpeg_quality!r}')
    jpeg_quality = int(jpeg_quality)
    options = dict(method_options or {})
    check_method_options(method, cls, options)
    return dict(
        method=method,
        config=os.fspath(config) if config else None,
        config_sha256=file_sha256(config) if config else None,
        checkpoint=os.fspath(checkpoint) if checkpoint else None,
        checkpoint_sha256=file_sha256(checkpoint) if checkpoint else None,
        precision=precision, color=bool(color),
        normalize=normalize or cls.default_normalize,
        ext=ext,
        jpeg_quality=jpeg_quality if ext in ('jpg', 'jpeg') else None,
        modality=modality, method_options=options,
        inputs=dict(inputs or {}))


def prepare_fuser(settings: Dict, device: str = 'cpu'):
    """Check the run-time arguments and return a zero-argument fuser factory.

    Device and precision are checked here, so a bad value is refused even
    when there is nothing to fuse. Methods without a model are built now
    (cheap; their option values are checked too); a learned method is built
    only when the engine has work, so a finished rerun loads no model.
    """
    from .inferencer import build_fuser
    from ..registry import FUSERS
    method = settings['method']
    with warnings.catch_warnings():
        # the bf16-on-this-CPU warning comes once, from the fuser itself
        warnings.simplefilter('ignore', RuntimeWarning)
        check_precision(settings['precision'], resolve_device(device))
    kwargs = dict(device=device, precision=settings['precision'],
                  color=settings['color'], normalize=settings['normalize'],
                  **settings['method_options'])
    if not FUSERS.get(method).requires_model:
        fuser = build_fuser(method, **kwargs)
        return lambda: fuser
    return lambda: build_fuser(method, settings['config'],
                               settings['checkpoint'], **kwargs)


def check_out_folder(out: Path, what: str) -> None:
    """Refuse an output path that is a file (before anything is written)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f'{what} {out} exists and is not a folder')


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


def check_annotations(kaist_root: Path, out_root: Path, mode: str) -> None:
    """Refuse an annotations mode that :func:`export_annotations` could not
    carry out, before anything is written."""
    if mode not in ANNOTATION_MODES:
        raise ValueError(f'--annotations must be one of {ANNOTATION_MODES}, '
                         f'got {mode!r}')
    for sub in _META_DIRS:
        src, dst = kaist_root / sub, out_root / sub
        if mode == 'none' or not src.is_dir():
            continue
        if mode == 'link' and (dst.exists() or dst.is_symlink()) and not (
                dst.is_symlink() and dst.resolve() == src.resolve()):
            raise FileExistsError(f'{dst} exists and is not a link to '
                                  f'{src}; remove it or use '
                                  '--annotations copy')
        if mode == 'copy' and dst.is_symlink():
            raise FileExistsError(f'{dst} is a symlink; remove it or use '
                                  '--annotations link')
        if mode == 'copy' and dst.exists() and not dst.is_dir():
            raise FileExistsError(f'{dst} exists and is not a folder')


def export_annotations(kaist_root: Path, out_root: Path, mode: str) -> Dict:
    """Make ``annotations/`` and ``imageSets/`` available under OUT_ROOT."""
    check_annotations(kaist_root, out_root, mode)
    report = {}
    for sub in _META_DIRS:
        src, dst = kaist_root / sub, out_root / sub
        if mode == 'none' or not src.is_dir():
            report[sub] = 'absent in KAIST_ROOT' if mode != 'none' else 'none'
            continue
        if mode == 'link':
            if not dst.is_symlink():
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(src.resolve(), dst, target_is_directory=True)
            report[sub] = 'linked'
        else:
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

    Every argument is checked (and, for a learned method with work to do,
    the model built) before anything is written to OUT_ROOT.

    Returns:
        dict with this shard's manifest (``shard``) and the merged manifest
        (``merged``). Failed frames are listed there; the caller decides the
        exit status.

    Raises:
        ValueError/FileNotFoundError/FileExistsError/KeyError/RuntimeError:
            bad arguments, an OUT_ROOT inside KAIST_ROOT, or OUT_ROOT
            holding outputs of other settings or inputs (without
            ``overwrite``).
    """
    kaist_root, out_root = Path(kaist_root), Path(out_root)
    if _inside(out_root, kaist_root):
        raise ValueError(f'OUT_ROOT {out_root} lies inside KAIST_ROOT '
                         f'{kaist_root}: sources are never written to; '
                         'choose a folder outside it')
    check_out_folder(out_root, 'OUT_ROOT')
    if modality in (VISIBLE, LWIR) or not modality or '/' in modality or \
            modality.startswith('.'):
        raise ValueError(f'modality folder name {modality!r} must be a plain '
                         f"name other than 'visible'/'lwir'")
    if batch_size < 1 or workers < 0 or writer_threads < 1:
        raise ValueError(f'--batch-size >= 1, --workers >= 0 and '
                         f'--writer-threads >= 1 required; got {batch_size}, '
                         f'{workers}, {writer_threads}')
    if not (kaist_root / 'images').is_dir():
        raise FileNotFoundError(
            f'{kaist_root / "images"} does not exist: KAIST_ROOT must have '
            'the official layout images/setXX/VYYY/{visible,lwir}/IZZZZZ.jpg')
    settings = fusion_settings(
        method, config, checkpoint, precision, color, normalize, ext,
        jpeg_quality, modality, method_options,
        inputs=dict(kaist_root=os.fspath(kaist_root.resolve())))
    factory = prepare_fuser(settings, device)
    check_annotations(kaist_root, out_root, annotations)
    frames = discover_kaist_frames(kaist_root, image_set)
    mine = shard_items(frames, num_shards, shard_id)
    ext = settings['ext']
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
    image_set = os.fspath(image_set) if image_set else None
    manifest = dict(
        kaist_root=os.fspath(kaist_root.resolve()), image_set=image_set,
        frames_in_dataset=len(frames),
        shard=dict(num_shards=num_shards, shard_id=shard_id),
        layout=f'images/setXX/VYYY/{modality}/IZZZZZ.{ext}',
        annotations=dict(mode=annotations))

    def export():
        if shard_id == 0:  # one shard exports the shared text files
            manifest['annotations'].update(
                export_annotations(kaist_root, out_root, annotations))

    return fuse_on_record(
        out_root, settings, tasks, factory, overwrite=overwrite,
        list_name=Path(image_set).stem if image_set else 'all-frames',
        image_set=image_set, keys=[f.frame_id for f in frames],
        layout='kaist', manifest=manifest,
        run=dict(device=device, batch_size=batch_size, workers=workers,
                 writer_threads=writer_threads),
        after_begin=export, batch_size=batch_size, workers=workers,
        writer_threads=writer_threads, jpeg_quality=jpeg_quality,
        progress=progress,
        desc=f'fuse {method} [{shard_id + 1}/{num_shards}]')


def fuse_on_record(out_root: Path, settings: Dict, tasks, factory, *,
                   overwrite: bool, list_name: str, image_set: Optional[str],
                   keys, layout: str, manifest: Dict, run: Dict,
                   after_begin=None, **engine_kwargs) -> Dict:
    """Fuse ``tasks`` keeping OUT_ROOT's records (``manifest``), the one
    mechanism behind :func:`fuse_kaist` and ``fuse_folders``.

    Outputs of other settings are refused; the settings, the frame list
    (``keys``, named ``list_name``, laid out as ``layout``) and this shard's
    unfinished manifest go on record before the first output (then
    ``after_begin`` runs), the finished manifest after the last.

    Args:
        manifest: the caller's own entries of the shard manifest (inputs,
            ``shard`` ids, ...); settings, list, run and results are added.
        run: how the run was made (device, batch size, ...); host, pid and
            times are added.
        engine_kwargs: passed to :func:`run_fusion`.

    Returns:
        dict with the shard manifest (``shard``) and the merged one
        (``merged``).
    """
    since = check_existing_settings(
        out_root, settings, overwrite,
        outputs_exist=lambda: any(os.path.exists(t.out) for t in tasks))
    key, digest = list_key(list_name, keys)
    manifest.update(
        settings=settings, overwrite=bool(overwrite),
        list=dict(key=key, name=list_name, image_set=image_set,
                  frames=len(keys), sha256=digest),
        run=dict(run, host=socket.gethostname(), pid=os.getpid(),
                 started=now_iso()))

    def before_write():
        # the settings go on record before the first output, so a killed
        # run cannot leave outputs of unrecorded settings
        begin_run(out_root, settings, overwrite, since, manifest, keys,
                  layout)
        if after_begin is not None:
            after_begin()

    stats = run_fusion(tasks, factory, color=settings['color'],
                       overwrite=overwrite, fresh_after_ns=since,
                       before_write=before_write, **engine_kwargs)
    manifest['run']['finished'] = now_iso()
    manifest.update(versions=versions(), **stats)
    return dict(shard=manifest, merged=finish_run(out_root, manifest))


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


__all__ = ['fuse_kaist', 'fusion_settings', 'prepare_fuser', 'fuse_on_record',
           'export_annotations', 'copy_tree_incremental', 'shard_from_env']
