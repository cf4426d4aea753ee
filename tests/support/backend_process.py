"""The backend as a separate process, so a test can SIGKILL it and start it again on the same
port and data directory, as a crash and a systemd restart would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.app.core.config import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackendProcess:
    """``python -m backend serve`` on a fixed port over one data directory (SQLite, or the
    PostgreSQL database at ``database_url``, which several processes may share)."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
        database_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.env = dict(env or {})
        if database_url is not None:
            self.env["IK_DATABASE_URL"] = database_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # What support.api.Api needs of a server.
        self.settings = Settings(data_dir=data_dir, database_url=database_url)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> BackendProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--port", str(self.port)],
            env={**os.environ, **self.env, "IK_DATA_DIR": str(self.data_dir)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/health").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, "backend did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or a power cut of the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def recording(self, interview_id: str) -> Path:
        return self.data_dir / "recordings" / f"{interview_id}.pcm"
