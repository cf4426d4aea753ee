"""The audio journal: one write-ahead log for every interview a backend process streams.

Each frame's new audio is appended to its recording's memory buffer and, as a record, to this
process's journal buffer: no system call on the event loop. One write and ``fdatasync`` of the
journal makes everything appended before it durable, whichever interviews it came from (group
commit, as a database's WAL): an fsync starts as soon as new audio is written and none is in
flight, its acks go out the moment it returns, and what arrives meanwhile rides the next one.
Measured on this machine's ext4, an append-and-fdatasync into a preallocated file costs 123 µs
of wall time and 41 µs of CPU where an fsync of each recording costs 225 µs and 79 µs; and one
covers many seats.

The recordings are made durable later, off the hot path: when a segment fills, the recordings
it touched are fsync'd on a checkpoint thread and the segment is recycled. If the machine
loses power, the journal has every acknowledged byte; the next backend process to start (or
to open a stream) replays the journals of processes that are gone into their recordings.

Layout: ``<data_dir>/journal/<process>/`` holds a ``lock`` file, ``flock``'d by its live process
for its whole life, and segments ``<seq>.wal`` of ``segment_bytes`` each, preallocated (an
overwrite needs no metadata in the fdatasync). A process that is gone leaves its lock free.
A record: magic, segment sequence and position (a recycled segment's stale records fail
them), interview id, recording offset, length, CRC-32, then the audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import structlog

from backend.app.services.streaming.recording import fsync_directories, recording_path, write_at

logger = structlog.get_logger(__name__)

SEGMENT_BYTES = 16 << 20
MAGIC = b"IKJ1"
# magic, segment seq, position in segment, interview id, recording offset, length, crc32
RECORD = struct.Struct(">4sIQ16sQII")
# A commit waits this long after audio arrives before it starts, so one fdatasync and one
# wake-up of the loop serve more seats (as PostgreSQL's commit_delay). At 100 seats sending
# 100 ms frames, measured with benchmarks/stream_capacity.py (server CPU while every seat
# streams, on uvloop): no wait, nearly every frame had a commit of its own, 0.30 % of a core
# per seat; 5 ms, 0.21-0.23 %; 20 ms, 0.14-0.17 % (about 50 commits a second instead of
# 150, each with its thread hand-off and wake-ups). Each ack comes that much later: frame to
# ack p99 went from 9 to 23 ms, inside the 60 ms the product promises.
COMMIT_DELAY_SECONDS = 0.020
LOCK_NAME = "lock"
RECOVERING_NAME = "recovering"


class JournalFailed(Exception):
    """The journal could not be made durable (an fdatasync failed): nothing more is acked."""


class Listener(Protocol):
    def on_durable(self, offset: int) -> None:
        """Everything this listener appended up to recording ``offset`` is durable."""


class Recording(Protocol):
    write_error: BaseException | None

    @property
    def pending_bytes(self) -> int: ...

    def materialize(self) -> None: ...

    def take_pending(self) -> tuple[int, bytes]: ...

    def dup_fd(self) -> int | None:
        """A new descriptor of the open recording (None if it is closed, hence synced)."""


# A recording's audio is written to its file (off the loop) about once a second of audio.
MATERIALIZE_BYTES = 32 << 10
# Checkpoints handed to the writer at once. Each holds a descriptor of its own for every
# recording its segment touched; at 1,200 seats a 16 MiB segment fills every 0.4 s and its
# checkpoint (1,200 fsyncs) takes longer, so an unbounded queue ran out of descriptors
# (EMFILE) and failed the journal for good. Later segments wait their turn, sealed and
# durable: acks do not wait for checkpoints, only disk space does.
MAX_QUEUED_CHECKPOINTS = 2


class _Segment:
    def __init__(self, path: Path, seq: int, fd: int) -> None:
        self.path = path
        self.seq = seq
        self.fd = fd
        self.position = 0  # the end of its records, written or pending
        self.pending = bytearray()  # records not yet written: the next commit writes them
        self.pending_at = 0  # where they go in the file
        # The recordings with audio in this segment: fsync'd before the segment is dropped.
        self.recordings: dict[int, Recording] = {}

    @property
    def unsynced(self) -> bool:
        return bool(self.pending)

    def take_pending(self) -> tuple[int, int, bytes]:
        chunk = (self.fd, self.pending_at, bytes(self.pending))
        self.pending_at += len(self.pending)
        self.pending.clear()
        return chunk


class Journal:
    """Built once per process (``create_app``); ``open`` in the lifespan, ``close`` at its end."""

    def __init__(self, data_dir: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.data_dir = data_dir
        self.root = data_dir / "journal"
        self.segment_bytes = segment_bytes
        self.directory = self.root / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lock_fd: int | None = None
        self._segment: _Segment | None = None
        self._spare: _Segment | None = None
        self._sealed: list[_Segment] = []  # full, with writes the next commit must cover
        self._next_seq = 1
        self._written = 0  # appended bytes, all segments
        self._durable = 0  # of those, made durable
        self._batch: dict[Listener, int] = {}
        self._last_batch_size = 0  # streams the last commit covered
        self._committing = False  # an fdatasync of taken records is in flight
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._failed: OSError | None = None
        self._unsynced_name = False  # a segment was created on the hot path
        self._committer: asyncio.Task[None] | None = None
        self._checkpoints: set[asyncio.Future[None]] = set()
        self._preparing: asyncio.Future[_Segment] | None = None
        self._recovery = asyncio.Lock()
        # Dedicated threads: an fdatasync never queues behind other work on the default pool.
        self._sync_thread = ThreadPoolExecutor(1, thread_name_prefix="journal-sync")
        self._checkpoint_thread = ThreadPoolExecutor(1, thread_name_prefix="journal-checkpoint")

    # Life cycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        await self.recover()
        self._segment = await asyncio.to_thread(self._start)
        self._committer = asyncio.create_task(self._commit_forever())

    def _start(self) -> _Segment:
        # Locked under a hidden name first: recovery never takes a directory whose process
        # is still between creating it and locking it.
        making = self.root / f".{self.directory.name}"
        making.mkdir(parents=True)
        self._lock_fd = os.open(making / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        making.rename(self.directory)
        segment = self._new_segment(self._take_seq())
        fsync_directories([self.directory, self.root, self.data_dir])
        return segment

    async def close(self) -> None:
        """Commit, checkpoint every recording and remove this process's journal."""
        if self._segment is None:
            return
        # No stream may append any more: closing streams only wait for their audio.
        with contextlib.suppress(JournalFailed):
            await self.wait_durable(self._written)
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        if self._preparing is not None:
            with contextlib.suppress(OSError):
                await self._preparing
        await asyncio.gather(*self._checkpoints, return_exceptions=True)
        segments = [*self._sealed, self._segment, *([self._spare] if self._spare else [])]
        self._segment = self._spare = None
        self._sealed = []
        if self._failed is None:
            entries = [entry for segment in segments for entry in _take_all(segment)]
            await asyncio.get_running_loop().run_in_executor(
                self._checkpoint_thread, self._remove, segments, entries
            )
        self._sync_thread.shutdown(wait=False)
        self._checkpoint_thread.shutdown(wait=False)

    @property
    def writer(self) -> ThreadPoolExecutor:
        """The one thread that writes and fsyncs recordings, in the order asked."""
        return self._checkpoint_thread

    def _remove(self, segments: list[_Segment], recordings: list[tuple[int, int, bytes]]) -> None:
        _write_fsync_close(recordings)
        for segment in segments:
            os.close(segment.fd)
        for path in self.directory.iterdir():  # segments, the free one, then the lock
            if path.name != LOCK_NAME:
                path.unlink()
        assert self._lock_fd is not None
        (self.directory / LOCK_NAME).unlink()
        os.close(self._lock_fd)
        self.directory.rmdir()
        fsync_directories([self.root])

    # The hot path ---------------------------------------------------------------------------

    def append(
        self,
        listener: Listener,
        recording: Recording,
        interview_id: uuid.UUID,
        offset: int,
        data: bytes,
    ) -> int:
        """Journal ``data`` (already appended to ``recording`` at ``offset``); returns the
        journal position to wait for. ``listener.on_durable`` hears when it is durable."""
        if self._failed is not None:
            raise JournalFailed(str(self._failed))
        segment = self._segment
        if segment is None:
            raise JournalFailed("the journal is closed (the backend is stopping)")
        size = RECORD.size + len(data)
        if segment.position + size > self.segment_bytes and segment.position > 0:
            segment = self._rotate()
        header = RECORD.pack(
            MAGIC, segment.seq, segment.position, interview_id.bytes, offset, len(data), 0
        )
        crc = zlib.crc32(data, zlib.crc32(header))
        header = header[:-4] + crc.to_bytes(4, "big")
        # In memory only: the commit writes the records just before its fdatasync, with one
        # system call, off the loop.
        segment.pending += header
        segment.pending += data
        segment.position += size
        if segment.position > self.segment_bytes // 2 and self._spare is None:
            # Made ahead, while this one fills: none is made for a backend that never
            # streams much (a kiosk's embedded one), 16 MiB of zeros each start otherwise.
            self._prepare_spare()
        segment.recordings[id(recording)] = recording
        if recording.pending_bytes >= MATERIALIZE_BYTES:
            recording.materialize()
        self._written += size
        self._batch[listener] = offset + len(data)
        self._wake.set()
        return self._written

    async def wait_durable(self, position: int) -> None:
        """Return once the journal is durable up to ``position`` (from ``append``)."""
        if self._failed is not None:
            raise JournalFailed(str(self._failed))
        if position <= self._durable:
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((position, future))
        self._wake.set()
        await future

    def forget(self, listener: Listener) -> None:
        """``listener`` closed: no more calls to it."""
        self._batch.pop(listener, None)

    async def _commit_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            if len(self._batch) > 1 or self._last_batch_size > 1:
                # Others' audio joins this commit (as commit_siblings: only when other seats
                # stream; a lone seat, the kiosk's embedded backend, does not wait).
                await asyncio.sleep(COMMIT_DELAY_SECONDS)
            self._wake.clear()
            if self._written == self._durable:
                continue
            target, batch = self._written, self._batch
            self._batch = {}
            self._last_batch_size = len(batch)
            assert self._segment is not None
            chunks = [s.take_pending() for s in (*self._sealed, self._segment) if s.unsynced]
            directory = self.directory if self._unsynced_name else None
            self._unsynced_name = False
            # A segment's pending records are taken before their fdatasync: while it runs,
            # "nothing pending" does not yet mean durable (see _checkpointed).
            self._committing = True
            try:
                await loop.run_in_executor(self._sync_thread, _commit, chunks, directory)
            except OSError as exc:
                self._fail(exc)
                return
            finally:
                self._committing = False
            self._durable = target
            for listener, offset in batch.items():
                listener.on_durable(offset)
            still: list[tuple[int, asyncio.Future[None]]] = []
            for position, future in self._waiters:
                if position <= target:
                    if not future.done():
                        future.set_result(None)
                else:
                    still.append((position, future))
            self._waiters = still
            self._checkpoint_sealed()
            if self._written > self._durable:
                self._wake.set()  # arrived during the fsync: the next commit starts now

    def _fail(self, exc: OSError) -> None:
        # As PostgreSQL after a failed fsync: what the kernel dropped cannot be known, so no
        # ack is ever sent again from this journal; clients keep their audio and reconnect.
        logger.error("journal_sync_failed", error=str(exc), directory=str(self.directory))
        self._failed = exc
        for _position, future in self._waiters:
            if not future.done():
                future.set_exception(JournalFailed(str(exc)))
        self._waiters = []

    # Segments -------------------------------------------------------------------------------

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _new_segment(self, seq: int, preallocate: bool = False) -> _Segment:
        path = self.directory / f"{seq:08d}.wal"
        if preallocate:
            for free in sorted(self.directory.glob("*.free")):
                # A checkpointed segment, already written: reused as is, as PostgreSQL
                # recycles WAL segments. Its old records carry an older sequence number.
                free.rename(path)
                fsync_directories([self.directory])
                return _Segment(path, seq, os.open(path, os.O_RDWR))
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        if preallocate:
            # Written once with zeros: later overwrites change no block map, so their
            # fdatasync writes the data alone (fallocate's unwritten extents would not do).
            zeros = bytes(1 << 20)
            for start in range(0, self.segment_bytes, len(zeros)):
                os.pwrite(fd, zeros[: self.segment_bytes - start], start)
            os.fsync(fd)
            fsync_directories([self.directory])
        return _Segment(path, seq, fd)

    def _prepare_spare(self) -> None:
        if self._spare is not None or self._preparing is not None or self._failed is not None:
            return
        seq = self._take_seq()
        preparing: asyncio.Future[_Segment] = asyncio.get_running_loop().run_in_executor(
            self._checkpoint_thread, lambda: self._new_segment(seq, preallocate=True)
        )
        self._preparing = preparing

        def done(future: asyncio.Future[_Segment]) -> None:
            self._preparing = None
            if future.cancelled() or future.exception() is not None:
                logger.warning("journal_spare_failed", error=str(future.exception()))
                return
            self._spare = future.result()

        preparing.add_done_callback(done)

    def _rotate(self) -> _Segment:
        assert self._segment is not None
        self._sealed.append(self._segment)
        if self._spare is not None:
            segment, self._spare = self._spare, None
        else:
            # The spare is not ready (a burst): a plain file now, its name synced at commit.
            segment = self._new_segment(self._take_seq())
            self._unsynced_name = True
        self._segment = segment
        return segment

    def _checkpoint_sealed(self) -> None:
        """Sealed segments whose records are all durable: fsync their recordings off the hot
        path, then drop the segment (or keep it, written, as the next spare)."""
        room = MAX_QUEUED_CHECKPOINTS - len(self._checkpoints)
        done = [segment for segment in self._sealed if not segment.unsynced][: max(0, room)]
        if not done:
            return
        self._sealed = [segment for segment in self._sealed if segment not in done]
        for segment in done:
            try:
                entries = _take_all(segment)
            except OSError as exc:
                self._fail(exc)
                return
            future = asyncio.get_running_loop().run_in_executor(
                self._checkpoint_thread, self._checkpoint, segment, entries
            )
            self._checkpoints.add(future)
            future.add_done_callback(self._checkpointed)

    def _checkpoint(self, segment: _Segment, recordings: list[tuple[int, int, bytes]]) -> None:
        _write_fsync_close(recordings)
        full = os.fstat(segment.fd).st_size == self.segment_bytes
        os.close(segment.fd)
        if full and not any(self.directory.glob("*.free")):
            segment.path.rename(segment.path.with_suffix(".free"))
        else:
            segment.path.unlink()
        fsync_directories([self.directory])

    def _checkpointed(self, future: asyncio.Future[None]) -> None:
        self._checkpoints.discard(future)
        if future.cancelled():
            return
        if (exc := future.exception()) is not None:
            assert isinstance(exc, OSError)
            self._fail(exc)
            return
        if self._failed is None and self._segment is not None and not self._committing:
            # The next waiting segment, if any. Not during a commit: a segment it covers has
            # nothing pending but is not durable yet; the commit's end checkpoints it.
            self._checkpoint_sealed()

    # Recovery -------------------------------------------------------------------------------

    async def recover(self) -> None:
        """Replay the journals of processes that are gone into their recordings.

        Run before a stream opens a recording: after a power cut, an acknowledged byte may
        be in a dead process's journal only. Cheap when there is nothing to do (a directory
        listing and one ``flock`` attempt per other live process).
        """
        async with self._recovery:
            await asyncio.to_thread(self._recover_all)

    def _recover_all(self) -> None:
        if not self.root.is_dir():
            return
        for directory in sorted(self.root.iterdir()):
            if directory == self.directory or not directory.is_dir():
                continue
            if directory.name.startswith(".") and time.time() - directory.stat().st_mtime < 60:
                continue  # being made (see _start); one left by a crash is removed later
            with contextlib.suppress(FileNotFoundError):
                self._recover_one(directory)

    def _recover_one(self, directory: Path) -> None:
        lock_fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not (directory / RECOVERING_NAME).exists():
                    return  # its process is alive
                # Another process is replaying it: wait for it to finish before any
                # recording is opened, then see what is left (it may have died meanwhile).
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
            if not directory.is_dir():
                return
            (directory / RECOVERING_NAME).touch()
            replayed = replay(directory, self.data_dir)
            for path in directory.iterdir():
                if path.name != LOCK_NAME:
                    path.unlink()
            (directory / LOCK_NAME).unlink()
            directory.rmdir()
            fsync_directories([self.root])
            logger.info("journal_recovered", directory=directory.name, records=replayed)
        finally:
            os.close(lock_fd)


def replay(directory: Path, data_dir: Path) -> int:
    """Write every valid record of ``directory``'s segments into its recording and fsync
    them; returns how many records were replayed. A record's bytes at its offset never
    change (the client's audio at an offset is fixed), so replaying twice is harmless.
    A recording that no longer exists (deleted) is not recreated."""
    fds: dict[bytes, int | None] = {}
    count = 0
    try:
        for segment in sorted(directory.glob("*.wal")):
            seq = int(segment.stem)
            for interview, offset, data in _records(segment, seq):
                if interview not in fds:
                    path = recording_path(data_dir, uuid.UUID(bytes=interview))
                    try:
                        fds[interview] = os.open(path, os.O_WRONLY)
                    except FileNotFoundError:
                        fds[interview] = None
                fd = fds[interview]
                if fd is not None:
                    write_at(fd, offset, data)
                    count += 1
        for fd in fds.values():
            if fd is not None:
                os.fsync(fd)
    finally:
        for fd in fds.values():
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
    return count


def _records(path: Path, seq: int) -> Iterator[tuple[bytes, int, bytes]]:
    with path.open("rb") as handle:
        content = handle.read()
    position = 0
    while position + RECORD.size <= len(content):
        magic, record_seq, record_position, interview, offset, length, crc = RECORD.unpack_from(
            content, position
        )
        end = position + RECORD.size + length
        if magic != MAGIC or record_seq != seq or record_position != position or end > len(content):
            return  # the end of what was written (or a recycled segment's stale records)
        data = content[position + RECORD.size : end]
        header = RECORD.pack(magic, record_seq, record_position, interview, offset, length, 0)
        if zlib.crc32(data, zlib.crc32(header)) != crc:
            return  # torn by the crash: never acknowledged
        yield interview, offset, data
        position = end


def _commit(chunks: list[tuple[int, int, bytes]], directory: Path | None) -> None:
    """Write the records appended since the last commit and make them durable."""
    for fd, at, chunk in chunks:
        write_at(fd, at, chunk)
    for fd, _at, _chunk in chunks:
        os.fdatasync(fd)
    if directory is not None:
        fsync_directories([directory])


def _take_all(segment: _Segment) -> list[tuple[int, int, bytes]]:
    """For each recording with audio in ``segment`` and still open: a descriptor of its own,
    and what is pending for it to write (on the loop; written in order on the writer)."""
    entries = []
    for recording in segment.recordings.values():
        if recording.write_error is not None:
            raise OSError(f"a recording could not be written: {recording.write_error}")
        fd = recording.dup_fd()
        if fd is not None:  # a closed one was fsync'd as it closed
            entries.append((fd, *recording.take_pending()))
    segment.recordings = {}
    return entries


def _write_fsync_close(entries: list[tuple[int, int, bytes]]) -> None:
    try:
        for fd, at, chunk in entries:
            write_at(fd, at, chunk)
            os.fsync(fd)
    finally:
        for fd, _at, _chunk in entries:
            with contextlib.suppress(OSError):
                os.close(fd)
