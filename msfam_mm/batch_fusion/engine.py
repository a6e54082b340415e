"""The engine: fuse many image pairs, resumable, atomic and overlapped.

* **resumable** - a pair whose output file exists is skipped (outputs are
  only ever created whole, so existing means finished) unless it is older
  than ``fresh_after_ns`` (made before the output folder's settings were
  replaced); a rerun does only the rest;
* **atomic** - every output is written to a hidden temporary file in the
  target folder and renamed into place
  (:func:`msfam_mm.utils.write_image_atomic`); temporary files a killed run
  left behind are removed at the next start;
* **robust** - a pair with a missing counterpart, an unreadable/truncated
  file or a size mismatch is reported by path, skipped and counted, and the
  rest is still fused;
* **overlapped** - decoding runs in a reader thread pool and
  encoding/writing in a writer thread pool while the main thread runs the
  model (OpenCV releases the GIL while it decodes/encodes; threads avoid the
  fork-after-threads deadlocks that DataLoader worker processes hit when
  OpenCV's or OpenMP's thread pools already run in the parent);
* a ``tqdm`` progress bar shows rate and ETA.

Example:
    >>> tasks = [PairTask('a', 'vis/a.png', 'ir/a.png', 'out/a.png')]
    >>> work = plan_work(tasks)
    >>> stats = fuse_pending(work, build_fuser('average'))  # doctest: +SKIP
    >>> stats['counts']                                  # doctest: +SKIP
    {'total': 1, 'done': 1, 'fused': 1, 'skipped_existing': 0, 'failed': 0}
"""
import itertools
import os
import sys
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Deque, Dict, Iterator, List, Optional, Sequence, Tuple

from msfam_mm.apis import BaseFuser, prepare_pair
from msfam_mm.utils.atomic_io import temp_file_target
from msfam_mm.utils.image_io import (ImageReadError, merge_luma,
                                     write_image_atomic)
from .errors import ArgumentError

__all__ = ['PairTask', 'Work', 'check_engine_options', 'plan_work',
           'fuse_pending', 'remove_stale_temp_files']


@dataclass(frozen=True)
class PairTask:
    """One pair to fuse. ``vis``/``ir`` are ``None`` when the file is absent
    (``missing`` then says where it was expected)."""
    key: str
    vis: Optional[str]
    ir: Optional[str]
    out: str
    missing: str = ''


@dataclass
class Work:
    """What a run has to do with its ``tasks``: the ``pending`` pairs,
    how many outputs are already there and current (``skipped``), and
    the pairs that cannot be fused (``failures``, a missing file)."""
    tasks: Sequence[PairTask]
    pending: List[PairTask] = field(default_factory=list)
    skipped: int = 0
    failures: List[Dict] = field(default_factory=list)


def check_engine_options(**counts: int) -> None:
    """Refuse bad thread/batch counts before anything runs: ``batch_size``
    and ``writer_threads`` must be >= 1, ``workers`` >= 0 (pass those a
    caller has).

    Raises:
        ArgumentError: naming every count and the values given.
    """
    minimum = dict(batch_size=1, workers=0, writer_threads=1)
    if all(counts[k] >= minimum[k] for k in counts):
        return
    names = [f'{{{k}}} >= {minimum[k]}' for k in counts]
    rule = ' and '.join([', '.join(names[:-1]), names[-1]]) \
        if len(names) > 1 else names[0]
    raise ArgumentError(
        rule + ' required; got ' + ', '.join(
            f'{{{i}}}' for i in range(len(counts))), *counts.values())


def _is_current(path: str, fresh_after_ns: Optional[int]) -> bool:
    """Whether an output exists and is not out of date."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    return fresh_after_ns is None or st.st_mtime_ns >= fresh_after_ns


def plan_work(tasks: Sequence[PairTask], overwrite: bool = False,
              fresh_after_ns: Optional[int] = None) -> Work:
    """Sort ``tasks`` into pending, already done and impossible (a missing
    file) pairs. Reads only.

    Args:
        overwrite: fuse every pair again, existing outputs too.
        fresh_after_ns: existing outputs older than this (file mtime, ns)
            are out of date and fused again.
    """
    work = Work(tasks)
    for t in tasks:
        if t.vis is None or t.ir is None:
            work.failures.append(dict(key=t.key, vis=t.vis, ir=t.ir,
                                      reason=t.missing
                                      or 'missing counterpart'))
        elif not overwrite and _is_current(t.out, fresh_after_ns):
            work.skipped += 1
        else:
            work.pending.append(t)
    return work


def remove_stale_temp_files(tasks: Sequence[PairTask]) -> int:
    """Delete temporary files left by a killed run for these tasks' outputs.

    Only temporaries of this task list's own output names are touched, so
    shards fusing other frames into the same folders are not disturbed.
    """
    by_dir: Dict[str, set] = defaultdict(set)
    for t in tasks:
        by_dir[os.path.dirname(t.out)].add(os.path.basename(t.out))
    removed = 0
    for folder, names in by_dir.items():
        try:
            entries = os.listdir(folder)
        except FileNotFoundError:
            continue
        for entry in entries:
            if temp_file_target(entry) in names:
                try:
                    os.unlink(os.path.join(folder, entry))
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


def fuse_pending(work: Work, fuser: Optional[BaseFuser], *,
                 color: bool = False, batch_size: int = 1, workers: int = 2,
                 writer_threads: int = 2, jpeg_quality: int = 95,
                 progress: bool = True, desc: str = 'fusing',
                 started: Optional[float] = None,
                 build_s: float = 0.0) -> Dict:
    """Remove what a killed run left of ``work``'s outputs, fuse its
    pending pairs; return counts, failures and timings.

    Args:
        work: from :func:`plan_work`.
        fuser: the built fuser (``None`` only when nothing is pending).
        color: colour mode (must match the fuser's).
        batch_size: pairs per model call.
        workers: reader threads decoding inputs (0 = decode in the main
            thread).
        writer_threads: threads encoding and writing outputs.
        jpeg_quality: for ``.jpg`` outputs.
        progress: show a progress bar on stderr.
        started: ``time.perf_counter()`` when the run started (default:
            now); ``wall_s`` counts from it.
        build_s: seconds the run spent building the fuser (reported, and
            left out of ``frames_per_s``).

    Returns:
        dict with ``counts`` (total, done, fused, skipped_existing, failed),
        ``failures`` (key, paths, reason), ``stale_temp_files_removed`` and
        ``timings`` (build_s, model_s, decode_s, encode_write_s,
        wait_input_s, wall_s, frames_per_s).
    """
    check_engine_options(batch_size=batch_size, workers=workers,
                         writer_threads=writer_threads)
    t0 = time.perf_counter() if started is None else started
    failures = list(work.failures)
    timings = dict(build_s=build_s, model_s=0.0, decode_s=0.0,
                   encode_write_s=0.0, wait_input_s=0.0)
    if work.pending and fuser.color != color:
        raise ValueError(f'fuser color={fuser.color} but run color={color}')
    stale = remove_stale_temp_files(work.tasks)
    fused = 0
    if work.pending:
        fused = _fuse(work.pending, fuser, color, batch_size, workers,
                      writer_threads, jpeg_quality, progress, desc,
                      failures, timings)
    wall = time.perf_counter() - t0
    # throughput of the fusing phase: building/loading the model is a
    # one-off cost reported separately as build_s
    busy = wall - build_s
    return dict(
        counts=dict(total=len(work.tasks), done=work.skipped + fused,
                    fused=fused, skipped_existing=work.skipped,
                    failed=len(failures)),
        failures=failures,
        stale_temp_files_removed=stale,
        timings=dict(timings, wall_s=wall,
                     frames_per_s=fused / busy if fused and busy > 0 else 0.0),
    )


def _decode(task: PairTask, color: bool) -> Dict:
    """Decode one pair; errors are returned, not raised, so one bad file
    does not stop the run."""
    start = time.perf_counter()
    try:
        vis_y, ir_y, crcb = prepare_pair(task.vis, task.ir, color, task.key)
    except (ImageReadError, ValueError) as e:
        return dict(error=str(e))
    return dict(error=None, vis=vis_y, ir=ir_y, crcb=crcb,
                decode_s=time.perf_counter() - start)


def _prefetch_batches(tasks: Sequence[PairTask], color: bool,
                      batch_size: int, pool: Optional[ThreadPoolExecutor]
                      ) -> Iterator[List[Tuple[PairTask, Dict]]]:
    """Yield decoded batches in order while the next ones decode in
    ``pool`` (OpenCV releases the GIL while decoding). ``pool=None``
    decodes in the calling thread."""
    if pool is None:
        for k in range(0, len(tasks), batch_size):
            yield [(t, _decode(t, color)) for t in tasks[k:k + batch_size]]
        return
    window: Deque[Tuple[PairTask, Future]] = deque()
    # two batches ahead keep the model busy without holding many frames
    ahead = 2 * batch_size + 2
    it = iter(tasks)
    for t in itertools.islice(it, ahead):
        window.append((t, pool.submit(_decode, t, color)))
    batch = []
    while window:
        t, fut = window.popleft()
        batch.append((t, fut.result()))
        nxt = next(it, None)
        if nxt is not None:
            window.append((nxt, pool.submit(_decode, nxt, color)))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fuse(pending, fuser, color, batch_size, workers, writer_threads,
          jpeg_quality, progress, desc, failures, timings) -> int:
    """Decoded batches -> model -> writer threads (writes overlap the next
    batch's inference); returns how many outputs were written."""
    from tqdm import tqdm

    lock = threading.Lock()
    written = [0]
    # bounded queue of outstanding writes: keeps memory flat when the disk
    # is slower than the model
    slots = threading.BoundedSemaphore(4 * max(batch_size, writer_threads))
    bar = tqdm(total=len(pending), desc=desc, unit='frame',
               disable=not progress, file=sys.stderr, dynamic_ncols=True,
               mininterval=1.0)

    def write(task: PairTask, y, crcb) -> None:
        try:
            start = time.perf_counter()
            write_image_atomic(task.out, merge_luma(y, crcb), jpeg_quality)
            with lock:
                timings['encode_write_s'] += time.perf_counter() - start
                written[0] += 1
        except Exception as e:  # noqa: BLE001  (reported per frame)
            with lock:
                failures.append(dict(key=task.key, vis=task.vis, ir=task.ir,
                                     out=task.out,
                                     reason=f'cannot write {task.out}: {e}'))
        finally:
            slots.release()
            bar.update(1)

    readers = ThreadPoolExecutor(workers, 'fuse-read') if workers else None
    try:
        with ThreadPoolExecutor(writer_threads, 'fuse-write') as writers:
            batches = _prefetch_batches(pending, color, batch_size, readers)
            while True:
                start = time.perf_counter()
                batch = next(batches, None)
                timings['wait_input_s'] += time.perf_counter() - start
                if batch is None:
                    break
                ok = []
                for task, item in batch:
                    if item['error'] is not None:
                        with lock:
                            failures.append(dict(key=task.key, vis=task.vis,
                                                 ir=task.ir,
                                                 reason=item['error']))
                        bar.update(1)
                    else:
                        timings['decode_s'] += item['decode_s']
                        ok.append((task, item))
                if not ok:
                    continue
                start = time.perf_counter()
                ys = fuser.fuse_luma([i['vis'] for _, i in ok],
                                     [i['ir'] for _, i in ok])
                timings['model_s'] += time.perf_counter() - start
                for (task, item), y in zip(ok, ys):
                    slots.acquire()
                    writers.submit(write, task, y, item['crcb'])
    finally:
        if readers is not None:
            readers.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return written[0]
