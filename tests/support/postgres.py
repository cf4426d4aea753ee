"""A throwaway PostgreSQL cluster on loopback: initdb in a temporary directory, one server
for the test session, a fresh database per test. Debian's `postgresql` package provides it."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


def _bin_dir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


def available() -> bool:
    return _bin_dir() is not None


class PostgresCluster:
    def __init__(self, durable: bool = False) -> None:
        # Tests trade durability for speed (no WAL flush per commit); a benchmark must not.
        self.durable = durable
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bin_dir = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="ik-pg-"))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self._proc: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root; as root, run it as the package's `postgres` user.
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")

    def start(self, timeout: float = 30.0) -> PostgresCluster:
        data = self.dir / "data"
        if self._as_user:
            shutil.chown(self.dir, "postgres")
        subprocess.run(
            [*self._as_user, str(self.bin_dir / "initdb"), "-D", str(data), "-A", "trust",
             "-U", self.user, "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True,
        )  # fmt: skip
        fast = (
            []
            if self.durable
            else ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        )
        self._proc = subprocess.Popen(
            [*self._as_user, str(self.bin_dir / "postgres"), "-D", str(data),
             "-p", str(self.port), "-k", str(self.dir), "-c", "listen_addresses=127.0.0.1",
             *fast],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("PostgreSQL did not start") from None
                time.sleep(0.05)
        # Accepting TCP is not accepting queries yet.
        while True:
            try:
                asyncio.run(self._execute("postgres", "SELECT 1"))
                return self
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    async def _execute(self, database: str, statement: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=self.user, database=database
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def create_database(self) -> str:
        name = f"ik_{uuid.uuid4().hex[:12]}"
        asyncio.run(self._execute("postgres", f'CREATE DATABASE "{name}"'))
        return name

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()  # SIGTERM: PostgreSQL's "smart" shutdown
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
