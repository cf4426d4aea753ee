"""The walking skeleton's backend: a real uvicorn answering /health over a real SQLite file."""

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
from backend.app.core.migrate import head_revision
from backend.app.server import BackgroundServer


def test_health_reports_ok_and_the_current_schema(backend_server: BackgroundServer) -> None:
    response = httpx.get(f"{backend_server.url}/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["schema_current"] is True
    assert body["schema_revision"] == head_revision(backend_server.settings)


def test_health_is_503_when_the_database_was_never_migrated(data_dir: Path) -> None:
    with BackgroundServer(Settings(data_dir=data_dir), migrate=False) as server:
        response = httpx.get(f"{server.url}/health")
    assert response.status_code == 503
    assert response.json()["schema_current"] is False


def test_sqlite_database_runs_in_wal_mode(backend_server: BackgroundServer) -> None:
    import sqlite3

    import pytest

    if not backend_server.settings.resolved_database_url().startswith("sqlite"):
        pytest.skip("SQLite only")

    db = backend_server.settings.data_dir / "interview-kiosk.db"
    assert db.exists()
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_interview_backend_serve_answers_health(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "IK_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health")
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "serve did not answer within 30 s"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=10)[0].decode()
    # uvicorn shuts down gracefully, then re-raises the signal so service managers see it.
    assert proc.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in output
