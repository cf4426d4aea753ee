"""The kiosk's journal of captured audio, one per interview, written before anything is sent.

``<dir>/<interview_id>.<base>.pcm`` holds the audio from stream offset ``base`` on. Once the
server acknowledges enough, the unacknowledged tail is copied to a file with a higher base
(written whole, fsync'd, renamed into place, the directory fsync'd) and only then is the old
file removed, so the journal stays small and a crash at any step leaves one complete journal to
resume from.

After opening, one worker thread per spool owns the journal's files. ``append`` only queues
the block; the worker writes blocks in order, fsyncs the journal at least every
``SYNC_INTERVAL_SECONDS`` while audio arrives (a power cut in a network outage then loses at
most that much), and compacts. Blocks queued behind a compaction land in the new file, after
the tail it copied. The caller (the GUI's loop) waits on the disk only in ``unacked``, ``close``
and ``remove``, once per interview each.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import structlog

logger = structlog.get_logger(__name__)

COMPACT_AFTER_BYTES = 4 << 20
# Half the one second allowed, so a slow fsync or a late wake-up still keeps within it.
SYNC_INTERVAL_SECONDS = 0.5

# Work for the worker thread, and where its result goes (None: nobody waits for it).
_Job = tuple[Callable[[], Any], "Future[Any] | None"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class SpoolInfo:
    interview_id: str
    ws_url: str
    sample_rate: int
    # Who is speaking, so a restarted kiosk can offer "Resume <candidate>" and open a new
    # session for them. Tokens are never written to disk.
    candidate_email: str = ""
    candidate_name: str = ""


class Spool:
    """One interview's journal. Opening may write and fsync files: not on the GUI thread."""

    def __init__(self, directory: Path, info: SpoolInfo) -> None:
        self.directory = directory
        self.info = info
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            _fsync_directory(directory.parent)
        meta = directory / f"{info.interview_id}.json"
        if not meta.exists():
            _write_atomically(meta, json.dumps(info.__dict__).encode())
            _fsync_directory(directory)
        self._journal = _Journal(directory, info.interview_id)
        # Both as of everything queued: the worker catches up with them.
        self.base = self._journal.base
        self.end = self._journal.base + self._journal.size_at_open
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._failure: Exception | None = None
        self._closed = False
        self._worker = threading.Thread(
            target=self._work, name=f"spool-{info.interview_id[:8]}", daemon=True
        )
        self._worker.start()

    @classmethod
    def find(cls, directory: Path) -> list[SpoolInfo]:
        """Interviews with a journal left behind (a kiosk restart resumes these)."""
        found = []
        for meta in sorted(directory.glob("*.json")):
            try:
                found.append(SpoolInfo(**json.loads(meta.read_text())))
            except (ValueError, TypeError):
                continue
        return found

    def unacked(self, acked: int) -> bytes:
        """The journal from ``acked`` on (read back after a kiosk restart), once the worker
        has written everything queued before."""
        return self._ask(partial(self._journal.read_from, acked)).result()

    def append(self, block: bytes) -> None:
        """Journal a captured block. Never waits for the disk: the worker writes it within
        milliseconds, so a killed kiosk loses about what it loses of blocks still on their way
        from the capture callback to the loop."""
        if self._closed:
            raise ValueError("the audio journal is closed")
        if self._failure is not None:
            raise OSError(f"the audio journal failed: {self._failure}") from self._failure
        block = bytes(block)  # the caller may reuse its buffer; the worker writes later
        self._jobs.put((partial(self._journal.write, block), None))
        self.end += len(block)

    def acknowledge(self, acked: int) -> None:
        """Forget what the server has made durable, once there is enough of it."""
        if acked - self.base < COMPACT_AFTER_BYTES or self._closed:
            return
        self.base = acked
        self._jobs.put((partial(self._journal.compact, acked), None))

    def remove(self) -> None:
        """The interview completed: the server has everything."""
        self._finish(self._journal.remove)

    def close(self) -> None:
        """Write and fsync everything queued and close; the journal stays for a resume."""
        self._finish(self._journal.close)

    # --- the worker thread ---------------------------------------------------------------------

    def _ask(self, work: Callable[[], _T]) -> Future[_T]:
        future: Future[_T] = Future()
        if self._closed and not self._worker.is_alive():
            self._run(work, future)  # the worker is gone: the files are this thread's now
        else:
            self._jobs.put((work, future))
        return future

    def _finish(self, work: Callable[[], None]) -> None:
        future = self._ask(work)
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
            self._worker.join()
        future.result()

    def _work(self) -> None:
        journal = self._journal
        while True:
            wait = journal.seconds_until_sync()
            if wait is not None and wait <= 0:
                self._run(journal.sync, None)
                continue
            try:
                job = self._jobs.get(timeout=wait)
            except queue.Empty:
                continue  # an fsync is due
            if job is None:
                return
            self._run(*job)

    def _run(self, work: Callable[[], Any], future: Future[Any] | None) -> None:
        if future is not None:
            try:
                future.set_result(work())
            except Exception as exc:
                future.set_exception(exc)
            return
        if self._failure is not None:
            return  # a journal that failed (torn, unsynced) is not written to again
        try:
            work()
        except Exception as exc:
            logger.error("spool_failed", interview_id=self.info.interview_id, error=repr(exc))
            self._journal.stop_syncing()
            self._failure = exc  # the next append tells the caller


class _Journal:
    """The journal's files. After opening, only the spool's worker thread touches them."""

    def __init__(self, directory: Path, interview_id: str) -> None:
        self.directory = directory
        self._interview_id = interview_id
        self._pattern = re.compile(rf"^{re.escape(interview_id)}\.(\d+)\.pcm(\.tmp)?$")
        found = self._files()
        journals = [(base, path) for base, path in found if path.suffix == ".pcm"]
        self.base = journals[-1][0] if journals else 0
        # A compaction that stopped half-way left a partial copy or the old file: the newest
        # journal is complete (it was renamed into place only once whole and fsync'd).
        for _, path in found:
            if path != self.path:
                path.unlink(missing_ok=True)
        self._file = self.path.open("ab", buffering=0)
        if not journals:
            _fsync_directory(directory)
        size = os.fstat(self._file.fileno()).st_size
        if size % 2:  # a torn final write: whole samples only, or every later one shifts
            os.truncate(self.path, size - 1)
            size -= 1
        self.size_at_open = size
        self._unsynced_since: float | None = None

    @property
    def path(self) -> Path:
        return self.directory / f"{self._interview_id}.{self.base}.pcm"

    def _files(self) -> list[tuple[int, Path]]:
        """Journals and partial copies, oldest first."""
        found = []
        for path in self.directory.iterdir():
            match = self._pattern.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def seconds_until_sync(self) -> float | None:
        """How long until an fsync is due; None while everything written is durable."""
        if self._unsynced_since is None:
            return None
        return self._unsynced_since + SYNC_INTERVAL_SECONDS - time.monotonic()

    def write(self, block: bytes) -> None:
        view = memoryview(block)
        while view:
            view = view[self._file.write(view) :]
        if self._unsynced_since is None:
            self._unsynced_since = time.monotonic()

    def sync(self) -> None:
        os.fsync(self._file.fileno())
        self._unsynced_since = None

    def stop_syncing(self) -> None:
        self._unsynced_since = None

    def read_from(self, acked: int) -> bytes:
        with self.path.open("rb") as handle:
            handle.seek(max(acked - self.base, 0))
            return handle.read()

    def compact(self, acked: int) -> None:
        """Start the journal at ``acked``: the tail copied to a new file, made durable (data,
        then name) before the old file goes."""
        old_path = self.path
        new_path = self.directory / f"{self._interview_id}.{acked}.pcm"
        copy = new_path.with_name(new_path.name + ".tmp")
        with old_path.open("rb") as source, copy.open("wb") as target:
            source.seek(max(acked - self.base, 0))
            shutil.copyfileobj(source, target, 1 << 20)
            target.flush()
            os.fsync(target.fileno())
        os.replace(copy, new_path)
        _fsync_directory(self.directory)
        self._file.close()
        old_path.unlink(missing_ok=True)
        self.base = acked
        self._file = new_path.open("ab", buffering=0)
        self._unsynced_since = None  # the copy holds every block written so far, fsync'd

    def close(self) -> None:
        if self._unsynced_since is not None:
            self.sync()
        self._file.close()

    def remove(self) -> None:
        self._file.close()
        for _, path in self._files():
            path.unlink(missing_ok=True)
        # No directory fsync: should a power cut bring the files back, the kiosk finds the
        # interview completed on the server and removes them again (flow._find_resumable).
        (self.directory / f"{self._interview_id}.json").unlink(missing_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def _fsync_directory(directory: Path) -> None:
    """Make new names and renames in ``directory`` survive a power cut. (POSIX needs this;
    Windows cannot open a directory so, and NTFS journals names itself.)"""
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
