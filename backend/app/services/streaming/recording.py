"""The recording file of one interview: append-only raw PCM, fsync'd in batches.

The durable end is what an ack promises. After a crash the file's length is the durable end,
cut back to a whole number of samples (a torn final write must not shift every later sample).
A new file's name is durable only once its directory is fsync'd: that happens before the
first ack that covers any of it. The sha256 of the recording is kept up to date as audio is
appended, so completing a long interview never reads the whole file again.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path


def recording_path(data_dir: Path, interview_id: object) -> Path:
    return data_dir / "recordings" / f"{interview_id}.pcm"


class RecordingFile:
    """Open (or create) a recording. Blocking (it fsyncs): call it off the event loop."""

    def __init__(self, path: Path, sample_width: int) -> None:
        self.path = path
        # Directories holding a name this file made, fsync'd before the first ack.
        self._unsynced_directories: list[Path] = []
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            self._unsynced_directories.append(path.parent.parent)
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            self._unsynced_directories.insert(0, path.parent)
        except FileExistsError:
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND)
            # A process killed before its first ack may have left the name unsynced, and
            # `ready` is about to promise these bytes: make the name durable now.
            self._unsynced_directories.insert(0, path.parent)
        self._directories_lock = asyncio.Lock()
        size = os.fstat(self._fd).st_size
        aligned = size - size % sample_width
        if aligned != size:
            os.ftruncate(self._fd, aligned)
        os.fsync(self._fd)
        if aligned:
            _fsync_directories(self._unsynced_directories)
            self._unsynced_directories = []
        self.written_end = aligned
        self.durable_end = aligned
        # None: reopened with audio in it, which digest() hashes off the loop the first time.
        self._sha256: hashlib._Hash | None = hashlib.sha256() if aligned == 0 else None
        self._rederive_lock = asyncio.Lock()

    def append(self, data: bytes) -> None:
        # Small writes to the page cache and a hash of at most 64 KB: tens of microseconds,
        # fine on the event loop.
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.written_end += len(data)
        if self._sha256 is not None:
            self._sha256.update(data)

    async def sync(self) -> int:
        """Make everything written durable (fsync on a worker thread); return the durable end."""
        end = self.written_end
        if end > self.durable_end:
            await asyncio.to_thread(os.fsync, self._fd)
            await self._sync_directories()
            # The periodic ack and answer_done may sync at once; never move backwards.
            self.durable_end = max(self.durable_end, end)
        return self.durable_end

    async def _sync_directories(self) -> None:
        # Under a lock: a second sync() must not ack while the first is still fsyncing them.
        async with self._directories_lock:
            if self._unsynced_directories:
                await asyncio.to_thread(_fsync_directories, self._unsynced_directories)
                self._unsynced_directories = []

    async def digest(self) -> str:
        """The sha256 (hex) of everything written so far."""
        async with self._rederive_lock:
            if self._sha256 is None:
                # Reopened after a restart: hash what the file held, once, on a worker thread.
                # Appends meanwhile are not hashed (no digest yet): read on until caught up.
                sha256 = hashlib.sha256()
                hashed = 0
                while hashed < self.written_end:
                    hashed = await asyncio.to_thread(
                        _hash_range, self.path, sha256, hashed, self.written_end
                    )
                self._sha256 = sha256
        return self._sha256.hexdigest()

    def close(self) -> None:
        os.close(self._fd)


def _fsync_directories(directories: list[Path]) -> None:
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
