"""The recording file of one interview: append-only raw PCM.

Its audio is made durable by the journal (``journal.py``) before any ack, and the file itself
later. After a crash the file's length (once the journals of dead processes are replayed) is
the durable end, cut back to a whole number of samples (a torn final write must not shift
every later sample). A new file's name is made durable as it is created. The sha256 of the
recording is kept up to date as audio is appended, so completing a long interview never
reads the whole file again.

An open recording is ``flock``'d: a stream in another process (or a takeover racing the
previous holder's close) waits until the previous one has written and synced all it received,
so its ``ready`` offset covers every byte already acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor, Future
from pathlib import Path


def recording_path(data_dir: Path, interview_id: object) -> Path:
    return data_dir / "recordings" / f"{interview_id}.pcm"


class RecordingBusy(Exception):
    """Another stream still has the recording open (it is closing, or it is wedged)."""


class RecordingFile:
    """Open (or create) a recording. Blocking (it fsyncs): call it off the event loop.

    Audio appended here is held in memory; the process's ``Journal`` makes it durable, and
    writes it to this file off the event loop (``take_pending``, in ``writer``: one thread,
    so writes and fsyncs of a file happen in the order they were asked for), in chunks of
    about a second, at a checkpoint, or when the stream closes (``sync``).
    """

    def __init__(
        self,
        path: Path,
        sample_width: int,
        writer: Executor | None = None,
        wait_seconds: float = 0.0,
    ) -> None:
        self.path = path
        self._writer = writer
        directories = [path.parent]
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            directories.append(path.parent.parent)
        try:
            # Not O_APPEND: chunks are written at their offsets (pwrite ignores the offset of
            # an O_APPEND file on Linux).
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            self._fd = os.open(path, os.O_RDWR)
        try:
            _lock(self._fd, wait_seconds)
        except RecordingBusy:
            os.close(self._fd)
            raise
        self._sample_width = sample_width
        self._pending = bytearray()  # received, not yet handed to the writer
        self.write_error: BaseException | None = None
        self._rederive_lock = asyncio.Lock()
        self.remeasure()
        fsync_directories(directories)

    def remeasure(self) -> None:
        """Read where the file ends (before any append): again after a journal replay that
        ran while this was open. Blocking (it fsyncs)."""
        assert not self._pending
        size = os.fstat(self._fd).st_size
        aligned = size - size % self._sample_width
        if aligned != size:
            os.ftruncate(self._fd, aligned)
        # `ready` is about to promise these bytes, and the first ack the file's name: both
        # durable now (a process killed before an ack may have left either in the cache).
        os.fsync(self._fd)
        self.written_end = aligned  # received: in the file or pending
        self.durable_end = aligned  # fsync'd in the file itself
        self._file_end = aligned  # where the pending bytes go
        # None: reopened with audio in it, which digest() hashes off the loop the first time.
        self._sha256: hashlib._Hash | None = hashlib.sha256() if aligned == 0 else None

    def append(self, data: bytes) -> None:
        # A copy into memory and a hash of at most 64 KB: no system call on the event loop.
        self._pending += data
        self.written_end += len(data)
        if self._sha256 is not None:
            self._sha256.update(data)

    @property
    def pending_bytes(self) -> int:
        return len(self._pending)

    def take_pending(self) -> tuple[int, bytes]:
        """The bytes not yet handed to the writer, and the file offset they go to; the caller
        writes them (``write_at``) on ``writer``, in the order taken."""
        at, chunk = self._file_end, bytes(self._pending)
        self._pending.clear()
        self._file_end += len(chunk)
        return at, chunk

    def materialize(self) -> None:
        """Hand what is pending to the writer now (off the loop, in order); its journal
        records keep it durable meanwhile."""
        assert self._writer is not None and self._fd >= 0
        at, chunk = self.take_pending()
        if chunk:
            self._writer.submit(write_at, self._fd, at, chunk).add_done_callback(self._written)

    def _written(self, future: Future[None]) -> None:
        if not future.cancelled() and (exc := future.exception()) is not None:
            self.write_error = exc  # raised by the next sync(): the file is not whole

    async def sync(self) -> int:
        """Write what is pending and fsync, on the writer; return the durable end."""
        if self.write_error is not None:
            raise self.write_error
        end = self.written_end
        if end > self.durable_end:
            at, chunk = self.take_pending()
            fd = self._fd
            await asyncio.get_running_loop().run_in_executor(
                self._writer, _write_and_fsync, fd, at, chunk
            )
            self.durable_end = max(self.durable_end, end)
        return self.durable_end

    def dup_fd(self) -> int | None:
        """A second descriptor of the file for a checkpoint thread to write, fsync and close
        (this one may be closed meanwhile); None once closed."""
        return None if self._fd < 0 else os.dup(self._fd)

    async def digest(self) -> str:
        """The sha256 (hex) of everything written so far."""
        async with self._rederive_lock:
            if self._sha256 is None:
                # Reopened after a restart: hash what the file held, once, on a worker thread.
                # Appends meanwhile are not hashed (no digest yet): read on until caught up.
                sha256 = hashlib.sha256()
                hashed = 0
                while hashed < self.written_end:
                    in_file = await self.sync()  # what is pending goes to the file first
                    hashed = await asyncio.to_thread(
                        _hash_range, self.path, sha256, hashed, in_file
                    )
                self._sha256 = sha256
        return self._sha256.hexdigest()

    def close(self) -> None:
        """Close (after ``sync``: anything still pending is dropped, as a crash would)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _lock(fd: int, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        with contextlib.suppress(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        if time.monotonic() >= deadline:
            raise RecordingBusy("another stream still has the recording open")
        time.sleep(0.02)


def write_at(fd: int, at: int, chunk: bytes) -> None:
    """Write all of ``chunk`` at offset ``at`` (blocking)."""
    view = memoryview(chunk)
    while view:
        written = os.pwrite(fd, view, at)
        view, at = view[written:], at + written


def _write_and_fsync(fd: int, at: int, chunk: bytes) -> None:
    write_at(fd, at, chunk)
    os.fsync(fd)


def fsync_directories(directories: list[Path]) -> None:
    """Make the names in ``directories`` survive a power cut (POSIX; Windows cannot open a
    directory so, and NTFS journals names itself)."""
    if os.name == "nt":
        return
    for directory in directories:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _hash_range(path: Path, sha256: hashlib._Hash, start: int, end: int) -> int:
    """Feed bytes ``start`` to ``end`` of ``path`` to ``sha256``; returns ``end``."""
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = handle.read(min(remaining, 1 << 20))
            if not chunk:
                raise OSError(f"{path} is shorter than the {end} bytes written")
            sha256.update(chunk)
            remaining -= len(chunk)
    return end


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def wav_header(data_bytes: int, sample_rate: int, channels: int, sample_width: int = 2) -> bytes:
    """A 44-byte RIFF/WAVE header for PCM data of ``data_bytes`` bytes."""
    byte_rate = sample_rate * channels * sample_width
    return b"".join(
        [
            b"RIFF", (36 + data_bytes).to_bytes(4, "little"), b"WAVE",
            b"fmt ", (16).to_bytes(4, "little"), (1).to_bytes(2, "little"),
            channels.to_bytes(2, "little"), sample_rate.to_bytes(4, "little"),
            byte_rate.to_bytes(4, "little"), (channels * sample_width).to_bytes(2, "little"),
            (sample_width * 8).to_bytes(2, "little"),
            b"data", data_bytes.to_bytes(4, "little"),
        ]
    )  # fmt: skip


async def wav_stream(
    path: Path, size: int, sample_rate: int, channels: int
) -> AsyncIterator[bytes]:
    """The first ``size`` bytes of a recording as a WAV file, read in chunks off the loop."""
    yield wav_header(size, sample_rate, channels)
    async for chunk in read_range(path, 0, size):
        yield chunk


async def read_range(path: Path, start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes ``[start, end)`` of a recording (fewer if it is shorter), read in chunks on a
    worker thread so a large answer never holds the event loop."""
    if end <= start:
        return
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = await asyncio.to_thread(handle.read, min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
