"""Backend settings for a test: SQLite by default, PostgreSQL with ``--backend-db=postgres``."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.app.core.config import Settings


def settings_for(request: pytest.FixtureRequest, data_dir: Path) -> Settings:
    """Settings over a fresh SQLite file, or a fresh PostgreSQL database with --backend-db.

    Questions are read by espeak-ng: 0.1 s a question where Piper takes about 1 s and a
    220 MB process. Piper's own tests (tests/api/test_question_speech.py) ask for it.
    Every test client is 127.0.0.1, so the per-address sign-in limit is lifted: hostile-input
    tests fail many sign-ins on one server. tests/api/test_throttling.py sets its own.
    """
    lifted = 100_000
    if request.config.getoption("--backend-db") == "postgres":
        cluster = request.getfixturevalue("postgres_cluster")
        return Settings(
            data_dir=data_dir, database_url=cluster.url(cluster.create_database()),
            speech_engine="espeak-ng", login_failures_per_address=lifted,
        )  # fmt: skip
    return Settings(data_dir=data_dir, speech_engine="espeak-ng", login_failures_per_address=lifted)
