"""`interview-backend` admin commands, as IT staff run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from backend.app.core.config import Settings
from backend.app.server import BackgroundServer
from support.api import Api


def _cli(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        env={**os.environ, "IK_DATA_DIR": str(data_dir), **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_seed_demo_prints_credentials_that_sign_in(tmp_path: Path) -> None:
    result = _cli("seed-demo", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [r[0] for r in rows] == [
        "admin", "proctor", "reviewer", "candidate", "candidate", "candidate",
    ]  # fmt: skip
    with BackgroundServer(Settings(data_dir=tmp_path)) as server:
        api = Api(server)
        for _role, email, password in rows:
            assert api.login(email, password)
        alex = api.login(rows[3][1], rows[3][2])
        applications = api.request("GET", "/api/v1/applications", alex).json()
        assert len(applications) == 3
        postings = api.request("GET", "/api/v1/job-postings", alex).json()
        assert len(postings) == 5  # six seeded, one closed
        reviewer = api.login(rows[2][1], rows[2][2])  # reviews every demo posting
        assert api.request("GET", "/api/v1/reviews", reviewer).json() == []
    again = _cli("seed-demo", data_dir=tmp_path)  # idempotent; passwords are renewed
    assert again.returncode == 0
    assert again.stdout != result.stdout


def test_create_user_then_duplicate_is_a_clear_error(tmp_path: Path) -> None:
    args = ("create-user", "--email", "p@example.com", "--role", "proctor", "--name", "P")
    created = _cli(*args, data_dir=tmp_path, IK_NEW_PASSWORD="a-long-password")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created proctor p@example.com")
    again = _cli(*args, data_dir=tmp_path, IK_NEW_PASSWORD="a-long-password")
    assert again.returncode == 1
    assert again.stderr.strip() == "interview-backend: An account with this email already exists"
    short = _cli(*args, "--password", "short", data_dir=tmp_path)
    assert short.returncode == 2
    assert "8 to 128 characters" in short.stderr
