"""Backend settings: a generated JWT secret is private and stable; migrations are idempotent."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from backend.app.core.config import Settings
from backend.app.core.migrate import upgrade_to_head


def test_generated_jwt_secret_is_0600_and_stable(data_dir: Path) -> None:
    first = Settings(data_dir=data_dir).resolved_jwt_secret()
    second = Settings(data_dir=data_dir).resolved_jwt_secret()
    assert first == second
    assert len(first) >= 48
    mode = stat.S_IMODE((data_dir / "jwt-secret").stat().st_mode)
    assert mode == 0o600


def test_configured_jwt_secret_wins_and_nothing_is_written(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IK_JWT_SECRET", "from-the-environment")
    assert Settings(data_dir=data_dir).resolved_jwt_secret() == "from-the-environment"
    assert not (data_dir / "jwt-secret").exists()


def test_settings_come_from_ik_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IK_PLANNED_QUESTIONS", "7")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.planned_questions == 7
    assert settings.resolved_database_url() == f"sqlite+aiosqlite:///{tmp_path}/interview-kiosk.db"


def test_migrating_twice_is_harmless(data_dir: Path) -> None:
    import sqlite3

    settings = Settings(data_dir=data_dir)
    upgrade_to_head(settings)
    upgrade_to_head(settings)
    with sqlite3.connect(data_dir / "interview-kiosk.db") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
    assert {"alembic_version", "audit_log"} <= tables
