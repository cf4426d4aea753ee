"""The kiosk's journal of captured audio, one per interview, written before anything is sent.

``<dir>/<interview_id>.<base>.pcm`` holds the audio from stream offset ``base`` on. Once the
server acknowledges enough, the unacknowledged tail is copied to a file with a higher base
(written whole, fsync'd, renamed into place) and the old file removed, so the journal stays
small and a crash at any step leaves one complete journal to resume from.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

COMPACT_AFTER_BYTES = 4 << 20


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
    def __init__(self, directory: Path, info: SpoolInfo) -> None:
        self.directory = directory
        self.info = info
        directory.mkdir(parents=True, exist_ok=True)
        meta = directory / f"{info.interview_id}.json"
        if not meta.exists():
            _write_atomically(meta, json.dumps(info.__dict__).encode())
        self.base, data = self._load()
        self.end = self.base + len(data)
        self._file = (directory / f"{info.interview_id}.{self.base}.pcm").open("ab")

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

    def _journals(self) -> list[tuple[int, Path]]:
        pattern = re.compile(rf"^{re.escape(self.info.interview_id)}\.(\d+)\.pcm$")
        found = []
        for path in self.directory.iterdir():
            match = pattern.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def _load(self) -> tuple[int, bytes]:
        journals = self._journals()
        if not journals:
            return 0, b""
        base, path = journals[-1]
        for _, older in journals[:-1]:  # a compaction finished but did not clean up
            older.unlink(missing_ok=True)
        data = path.read_bytes()
        return base, data[: len(data) - len(data) % 2]

    def unacked(self, acked: int) -> bytes:
        """The journal from ``acked`` on (read back after a kiosk restart)."""
        self._file.flush()
        path = self.directory / f"{self.info.interview_id}.{self.base}.pcm"
        with path.open("rb") as handle:
            handle.seek(max(acked - self.base, 0))
            return handle.read()

    def append(self, block: bytes) -> None:
        # Flushed to the OS at once: a killed kiosk process loses nothing it captured.
        self._file.write(block)
        self._file.flush()
        self.end += len(block)

    def acknowledge(self, acked: int) -> None:
        """Forget what the server has made durable, once there is enough of it."""
        if acked - self.base < COMPACT_AFTER_BYTES:
            return
        tail = self.unacked(acked)
        new_path = self.directory / f"{self.info.interview_id}.{acked}.pcm"
        _write_atomically(new_path, tail)
        old_path = self.directory / f"{self.info.interview_id}.{self.base}.pcm"
        self._file.close()
        old_path.unlink(missing_ok=True)
        self.base = acked
        self._file = new_path.open("ab")

    def remove(self) -> None:
        """The interview completed: the server has everything."""
        self._file.close()
        for _, path in self._journals():
            path.unlink(missing_ok=True)
        (self.directory / f"{self.info.interview_id}.json").unlink(missing_ok=True)

    def close(self) -> None:
        self._file.close()


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
