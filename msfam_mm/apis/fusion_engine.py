"""Resumable, atomic, overlapped fusing of many image pairs.

The engine behind ``tools/fuse.py`` and ``tools/fuse_kaist.py``:

* **resumable** - a pair whose output file exists is skipped (outputs are
  only ever created whole, so existing means finished) unless it is older
  than ``fresh_after_ns`` (made before the output folder's settings were
  replaced); a rerun does only the rest, and a second complete run builds
  no model at all;
* **atomic** - every output is written to a hidden temporary file in the
  target folder and renamed into place (``msfam_mm.utils.write_bytes_atomic``);
  temporary files a killed run left behind are removed at the next start;
* **robust** - a pair with a missing counterpart, an unreadable/truncated
  file or a size mismatch is reported by path, skipped and counted, and the
  rest is still fused;
* **overlapped** - decoding runs in a reader thread pool and
  encoding/writing in a writer thread pool while the main thread runs the
  model (OpenCV releases the GIL while it decodes/encodes; threads avoid the
  fork-after-threads deadlocks that DataLoader worker processes hit when
  OpenCV's or OpenMP's thread pools already run in the parent);
* a ``tqdm`` progress bar shows rate and ETA.

Test hook: with the environment variable ``MSFAM_FUSE_KILL_AFTER=N`` the
process sends itself SIGKILL once N outputs have been written (a hard kill
with other writes possibly in flight), to test resumption.

Example:
    >>> tasks = [PairTask('a.png', 'vis/a.png', 'ir/a.png', 'out/a.png')]
    >>> stats = run_fusion(tasks, fuser_factory=lambda: fuser)  # doctest: +SKIP
    >>> stats['counts']                                  # doctest: +SKIP
    {'total': 1, 'done': 1, 'fused': 1, 'skipped_existing': 0, 'failed': 0}
"""
import itertools
import os
import signal
import sys
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import (Callable, Deque, Dict, Iterator, List, Optional,
                    Sequence, Tuple)

from .base_fuser import BaseFuser, prepare_pair
from ..utils.atomic_io import temp_file_target, write_bytes_atomic
from ..utils.image_io import ImageReadError, encode_image, merge_luma

KILL_AFTER_ENV = 'MSFAM_FUSE_KILL_AFTER'


@dataclass(frozen=True)
class PairTask:
    """One pair to fuse. ``vis``/``ir`` are ``None`` when the file is absent
    (``missing`` then says where it was expected)."""
    key: str
    vis: Optional[str]
    ir: Optional[str]
    out: str
    missing: str = ''


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


class _KillSwitch:
    """Implements the ``MSFAM_FUSE_KILL_AFTER`` test hook."""

    def __init__(self) -> None:
        value = os.environ.get(KILL_AFTER_ENV)
        self.after = int(value) if value else None
        self.count = 0
        self.lock = threading.Lock()

    def written(self) -> None:
        if self.after is None:
            return
        with self.lock:
            self.count += 1
            if self.count >= self.after:
                os.kill(os.getpid(), signal.SIGKILL)


def _is_current(path: str, fresh_after_ns: Optional[int]) -> bool:
    """Whether an output exists and is not out of date."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    return fresh_after_ns is None or st.st_mtime_ns >= fresh_after_ns


def run_fusion(tasks: Sequence[PairTask],
               fuser_factory: Callable[[], BaseFuser],
               color: bool = False,
               batch_size: int = 1,
               workers: int = 2,
               writer_threads: int = 2,
               jpeg_quality: int = 95,
               overwrite: bool = False,
               progress: bool = True,
               desc: str = 'fusing',
               fresh_after_ns: Optional[int] = None,
               before_write: Optional[Callable[[], None]] = None) -> Dict:
    """Fuse ``tasks``; return counts, failures and timings.

    Args:
        tasks: pairs to fuse (outputs may already exist).
        fuser_factory: builds the fuser; only called if there is work.
        color: colour mode (must match the fuser's).
        batch_size: pairs per model call.
        workers: reader threads decoding inputs (0 = decode in the main
            thread).
        writer_threads: threads encoding and writing outputs.
        jpeg_quality: for ``.jpg`` outputs.
        overwrite: fuse and replace existing outputs too.
        progress: show a progress bar on stderr.
        fresh_after_ns: existing outputs older than this (file mtime, ns)
            are out of date and fused again.
        before_write: called once the fuser is built (so a model that
            cannot be built leaves nothing behind) and before anything is
            written or removed, also when there is no work.

    Returns:
        dict with ``counts`` (total, done, fused, skipped_existing, failed),
        ``failures`` (key, paths, reason) and ``timings``.
    """
    if batch_size < 1 or workers < 0 or writer_threads < 1:
        raise ValueError(f'batch_size >= 1, workers >= 0, writer_threads >= '
                         f'1 required; got {batch_size}, {workers}, '
                         f'{writer_threads}')
    t0 = time.perf_counter()
    failures: List[Dict] = []
    pending: List[PairTask] = []
    skipped = 0
    for t in tasks:
        if t.vis is None or t.ir is None:
            failures.append(dict(key=t.key, vis=t.vis, ir=t.ir,
                                 reason=t.missing or 'missing counterpart'))
        elif not overwrite and _is_current(t.out, fresh_after_ns):
            skipped += 1
        else:
            pending.append(t)
    timings = dict(build_s=0.0, model_s=0.0, decode_s=0.0,
                   encode_write_s=0.0, wait_input_s=0.0)
    fuser = None
    if pending:
        start = time.perf_counter()
        fuser = fuser_factory()
        timings['build_s'] = time.perf_counter() - start
        if fuser.color != color:
            raise ValueError(f'fuser color={fuser.color} but run '
                             f'color={color}')
    if before_write is not None:
        before_write()
    stale = remove_stale_temp_files(tasks)
    fused = 0
    if pending:
        fused = _fuse_pending(pending, fuser, color, batch_size, workers,
                              writer_threads, jpeg_quality, progress, desc,
                              failures, timings)
    wall = time.perf_counter() - t0
    # throughput of the fusing phase: building/loading the model is a
    # one-off cost reported separately as build_s
    busy = wall - timings['build_s']
    failed = len(failures)
    return dict(
        counts=dict(total=len(tasks), done=skipped + fused, fused=fused,
                    skipped_existing=skipped, failed=failed),
        failures=failures,
        stale_temp_files_removed=stale,
        timings=dict(timings, wall_s=wall,
                     frames_per_s=fused / busy if fused and busy > 0 else 0.0),
    )


def _fuse_pending(pending, fuser, color, batch_size, workers,
                  writer_threads, jpeg_quality, progress, desc, failures,
                  timings) -> int:
    from tqdm import tqdm

    kill = _KillSwitch()
    lock = threading.Lock()
    written = [0]
    # bounded queue of outstanding writes: keeps memory flat when the disk
    # is slower than the model
    slots = threading.BoundedSemaphore(4 * max(batch_size, writer_threads))

    def write(task: PairTask, y, crcb) -> None:
        try:
            start = time.perf_counter()
            img = merge_luma(y, crcb)
            write_bytes_atomic(task.out, encode_image(
                img, os.path.splitext(task.out)[1], jpeg_quality))
            with lock:
                timings['encode_write_s'] += time.perf_counter() - start
                written[0] += 1
            kill.written()
        except Exception as e:  # noqa: BLE001  (reported per frame)
            with lock:
                failures.append(dict(key=task.key, vis=task.vis, ir=task.ir,
                                     out=task.out,
                                     reason=f'cannot write {task.out}: {e}'))
        finally:
            slots.release()
            bar.update(1)

    bar = tqdm(total=len(pending), desc=desc, unit='frame',
               disable=not progress, file=sys.stderr, dynamic_ncols=True,
               mininterval=1.0)
    readers = ThreadPoolExecutor(workers, 'fuse-read') if workers else None
    try:
        with ThreadPoolExecutor(writer_threads, 'fuse-write') as pool:
            _main_loop(pending, fuser, color, batch_size, readers, pool,
                       slots, write, bar, lock, failures, timings)
    finally:
        if readers is not None:
            readers.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return written[0]


def _main_loop(pending, fuser, color, batch_size, readers, pool, slots,
               write, bar, lock, failures, timings) -> None:
    """Decoded batches -> model -> writer threads (writes overlap the next
    batch's inference)."""
    batches = _prefetch_batches(pending, color, batch_size, readers)
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        timings['wait_input_s'] += time.perf_counter() - start
        if batch is None:
            return
        ok = []
        for task, item in batch:
            if item['error'] is not None:
                with lock:
                    failures.append(dict(key=task.key, vis=task.vis,
                                         ir=task.ir, reason=item['error']))
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
            pool.submit(write, task, y, item['crcb'])
