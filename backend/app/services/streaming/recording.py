"""The recording file of one interview: append-only raw PCM, fsync'd in batches.

The durable end is what an ack promises. After a crash the file's length is the durable end,
cut back to a whole number of samples (a torn final write must not shift every later sample).
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
    def __init__(self, path: Path, sample_width: int) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        size = os.fstat(self._fd).st_size
        aligned = size - size % sample_width
        if aligned != size:
            os.ftruncate(self._fd, aligned)
        os.fsync(self._fd)
        self.written_end = aligned
        self.durable_end = aligned

    def append(self, data: bytes) -> None:
        # Small writes to the page cache: microseconds, fine on the event loop.
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.written_end += len(data)

    async def sync(self) -> int:
        """Make everything written durable (fsync on a worker thread); return the durable end."""
        end = self.written_end
        if end > self.durable_end:
            await asyncio.to_thread(os.fsync, self._fd)
            # The periodic ack and answer_done may sync at once; never move backwards.
            self.durable_end = max(self.durable_end, end)
        return self.durable_end

    def close(self) -> None:
        os.close(self._fd)


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
    with path.open("rb") as handle:
        remaining = size
        while remaining > 0:
            chunk = await asyncio.to_thread(handle.read, min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
