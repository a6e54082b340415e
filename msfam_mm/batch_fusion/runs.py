"""Batch fusion runs: two folders (:func:`fuse_folders`, behind
``tools/fuse.py``) or a KAIST copy (:func:`fuse_kaist`, behind
``tools/fuse_kaist.py``) fused into an output folder that keeps its own
records.

A run reads top to bottom::

    fuse_kaist / fuse_folders
        settings = fusion_settings                what identifies the outputs
        source   = kaist_source / folder_source   the pairs
        run      = start_run                      refuse other settings, plan,
                                                  build the fuser, go on record
        export_annotations                        (KAIST, shard 0)
        fuse_and_record                           fuse, record, merge

Every argument is checked, and a learned model built when there is work,
before anything is written; the settings and an unfinished shard manifest
are on record before the first output (:mod:`.records`), so a killed run
is on record too and a rerun resumes it.

Example:
    >>> result = fuse_kaist('/data/kaist', '/data/kaist_avg',
    ...                     method='average')            # doctest: +SKIP
    >>> result['merged']['complete']                     # doctest: +SKIP
    True
"""
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from msfam_mm.apis import BaseFuser, build_fuser
from msfam_mm.registry import FUSERS
from .annotations import export_annotations
from .engine import Work, check_engine_options, fuse_pending, plan_work
from .merge import merge_manifests
from .records import (check_existing_settings, list_key, now_iso,
                      record_finish, record_start, versions)
from .settings import fusion_settings
from .sources import PairSource, folder_source, kaist_source

__all__ = ['fuse_folders', 'fuse_kaist', 'Run', 'start_run',
           'fuse_and_record']


def fuse_folders(vis_dir, ir_dir, out_dir, method: str, config=None,
                 checkpoint=None, device: str = 'cpu',
                 precision: str = 'fp32', backend: str = 'torch',
                 color: bool = False,
                 normalize: Optional[str] = None, batch_size: int = 1,
                 workers: int = 2, ext: str = 'png', jpeg_quality: int = 95,
                 overwrite: bool = False, progress: bool = True,
                 method_options: Optional[Dict] = None) -> Dict:
    """Fuse every name present in ``vis_dir`` or ``ir_dir`` into
    ``out_dir/NAME.<ext>`` (:func:`~.sources.folder_source`); a name found
    in only one of them is reported as a missing counterpart.

    Returns:
        dict with this run's manifest (``shard``) and the merged one
        (``merged``, also written to ``out_dir/manifest.json``).
    """
    check_engine_options(batch_size=batch_size, workers=workers)
    settings = fusion_settings(
        method, config, checkpoint, precision, color, normalize, ext,
        jpeg_quality, 'fused', method_options, device=device,
        backend=backend,
        inputs=dict(vis_dir=os.fspath(Path(vis_dir).resolve()),
                    ir_dir=os.fspath(Path(ir_dir).resolve())))
    source = folder_source(vis_dir, ir_dir, out_dir, settings['ext'])
    run = start_run(out_dir, settings, source, device=device,
                    overwrite=overwrite,
                    how=dict(device=device, batch_size=batch_size,
                             workers=workers))
    return fuse_and_record(run, batch_size=batch_size, workers=workers,
                           jpeg_quality=jpeg_quality, progress=progress,
                           desc=f'fuse {method} ({_execution(settings)})')


def fuse_kaist(kaist_root, out_root, method: str, config=None,
               checkpoint=None, image_set=None, device: str = 'cpu',
               precision: str = 'fp32', backend: str = 'torch',
               color: bool = False,
               normalize: Optional[str] = None, batch_size: int = 1,
               workers: int = 2, writer_threads: int = 2, ext: str = 'png',
               jpeg_quality: int = 95, modality: str = 'fused',
               num_shards: int = 1, shard_id: int = 0,
               annotations: str = 'copy', overwrite: bool = False,
               progress: bool = True,
               method_options: Optional[Dict] = None) -> Dict:
    """Fuse (one shard of) a KAIST copy into a fused KAIST copy
    (Section 4.4).

    ``KAIST_ROOT/images/setXX/VYYY/{visible,lwir}/IZZZZZ.*`` becomes
    ``OUT_ROOT/images/setXX/VYYY/<modality>/IZZZZZ.<ext>``, and
    ``annotations/`` and ``imageSets/`` are copied or linked
    (``annotations``: :data:`~.annotations.ANNOTATION_MODES`), so the
    annotation files and image-set lists apply unchanged and
    ``KAISTDataset(data_root=OUT_ROOT, modality='fused')`` reads it.

    One OUT_ROOT holds one fused modality made with one set of settings
    from one KAIST copy; several frame lists (e.g. the train and the test
    list) may be fused into it, each recorded and checked for completeness
    on its own. Several processes fuse one list with ``num_shards`` /
    ``shard_id``; every shard merges all records into
    ``OUT_ROOT/manifest.json``.

    Returns:
        dict with this shard's manifest (``shard``) and the merged manifest
        (``merged``). Failed frames are listed there; the caller decides the
        exit status.

    Raises:
        ArgumentError, ValueError, FileNotFoundError, FileExistsError,
        KeyError, RuntimeError: bad arguments, an OUT_ROOT inside
            KAIST_ROOT, or OUT_ROOT holding outputs of other settings or
            inputs (without ``overwrite``).
    """
    check_engine_options(batch_size=batch_size, workers=workers,
                         writer_threads=writer_threads)
    settings = fusion_settings(
        method, config, checkpoint, precision, color, normalize, ext,
        jpeg_quality, modality, method_options, device=device,
        backend=backend,
        inputs=dict(kaist_root=os.fspath(Path(kaist_root).resolve())))
    source = kaist_source(kaist_root, out_root, image_set, modality,
                          settings['ext'], num_shards, shard_id, annotations)
    run = start_run(out_root, settings, source, device=device,
                    overwrite=overwrite,
                    how=dict(device=device, batch_size=batch_size,
                             workers=workers, writer_threads=writer_threads))
    if shard_id == 0:  # one shard exports the text files all shards share
        run.manifest['annotations'].update(
            export_annotations(kaist_root, out_root, annotations))
    return fuse_and_record(
        run, batch_size=batch_size, workers=workers,
        writer_threads=writer_threads, jpeg_quality=jpeg_quality,
        progress=progress,
        desc=f'fuse {method} ({_execution(settings)}) '
        f'[{shard_id + 1}/{num_shards}]')


def _execution(settings: Dict) -> str:
    """'openvino bf16': what runs the method ('auto' resolved)."""
    return f"{settings['backend']} {settings['precision']}"


@dataclass
class Run:
    """A run on record, ready to fuse (see :func:`start_run`)."""
    out_root: Path
    settings: Dict
    work: Work
    fuser: Optional[BaseFuser]
    manifest: Dict
    started: float
    build_s: float


def start_run(out_root, settings: Dict, source: PairSource, *,
              device: str = 'cpu', overwrite: bool = False,
              how: Optional[Dict] = None) -> Run:
    """Refuse outputs of other settings, plan the work, build the fuser
    and put the run on record; nothing is written before the last step.

    The fuser is built when there is work (a finished rerun loads no
    model) or when it is cheap (methods without a model: their option
    values are then checked too). The settings, the frame list and this
    shard's manifest (``status: unfinished``) go on record and the records
    are merged.

    Args:
        settings: from :func:`~.settings.fusion_settings`.
        source: the run's pairs.
        how: how the run is made (device, batch size, ...), recorded
            under ``run`` with host, pid and start time.
    """
    started = time.perf_counter()
    out_root = Path(out_root)
    since = check_existing_settings(
        out_root, settings, overwrite,
        outputs_exist=lambda: any(os.path.exists(t.out)
                                  for t in source.tasks))
    work = plan_work(source.tasks, overwrite, fresh_after_ns=since)
    fuser, build_s = None, 0.0
    method = settings['method']
    if work.pending or not FUSERS.get(method).requires_model:
        t = time.perf_counter()
        fuser = build_fuser(
            method, settings['config'], settings['checkpoint'],
            device=device, backend=settings['backend'],
            precision=settings['precision'],
            color=settings['color'], normalize=settings['normalize'],
            **settings['method_options'])
        build_s = time.perf_counter() - t if work.pending else 0.0
    key, digest = list_key(source.list_name, source.keys)
    manifest = dict(
        source.record, settings=settings, overwrite=bool(overwrite),
        list=dict(key=key, name=source.list_name, image_set=source.image_set,
                  frames=len(source.keys), sha256=digest),
        run=dict(how or {}, host=socket.gethostname(), pid=os.getpid(),
                 started=now_iso()))
    record_start(out_root, settings, overwrite, since, manifest, source.keys,
                 source.layout)
    merge_manifests(out_root)
    return Run(out_root, settings, work, fuser, manifest, started, build_s)


def fuse_and_record(run: Run, *, batch_size: int = 1, workers: int = 2,
                    writer_threads: int = 2, jpeg_quality: int = 95,
                    progress: bool = True, desc: str = 'fusing') -> Dict:
    """Fuse the run's pending pairs, record the finished shard manifest
    and merge the records.

    Returns:
        dict with the shard manifest (``shard``) and the merged one
        (``merged``).
    """
    stats = fuse_pending(run.work, run.fuser, color=run.settings['color'],
                         batch_size=batch_size, workers=workers,
                         writer_threads=writer_threads,
                         jpeg_quality=jpeg_quality, progress=progress,
                         desc=desc, started=run.started,
                         build_s=run.build_s)
    run.manifest['run']['finished'] = now_iso()
    run.manifest.update(versions=versions(), **stats)
    record_finish(run.out_root, run.manifest)
    return dict(shard=run.manifest, merged=merge_manifests(run.out_root))
