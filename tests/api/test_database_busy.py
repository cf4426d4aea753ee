"""SQLite allows one writer at a time. When another holds the write lock longer than the busy
timeout, a request is answered 503 with Retry-After, never a 500, and nothing is half-done."""

from __future__ import annotations

import sqlite3
import uuid

import httpx
import pytest

from backend.app.core.config import Settings
from backend.app.server import BackgroundServer


def test_a_locked_sqlite_database_answers_503_and_the_retry_succeeds(
    backend_settings: Settings,
) -> None:
    url = backend_settings.resolved_database_url()
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's single-writer lock; PostgreSQL has row locks")
    settings = backend_settings.model_copy(update={"sqlite_busy_timeout_seconds": 0.3})
    body = {
        "email": f"busy-{uuid.uuid4().hex[:8]}@example.com",
        "password": "correct horse battery",
        "full_name": "Busy Database",
    }
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url) as http:
        # Another process's writer (an admin's sqlite3 shell, a backup) holds the lock.
        holder = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            refused = http.post("/api/v1/auth/register", json=body, timeout=30)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert refused.status_code == 503, refused.text
        assert refused.json() == {"detail": "The database is busy; try again in a moment."}
        assert refused.headers["Retry-After"] == "1"

        retried = http.post("/api/v1/auth/register", json=body, timeout=30)
        assert retried.status_code == 201, retried.text
        login = http.post(
            "/api/v1/auth/login", json={"email": body["email"], "password": body["password"]}
        )
        assert login.status_code == 200, login.text
