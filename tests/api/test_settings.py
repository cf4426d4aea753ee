"""Backend settings: a generated JWT secret is private and stable; migrations are idempotent."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from backend.app.core.config import Settings
from backend.app.core.migrate import upgrade_to_head
from backend.app.server import BackgroundServer


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


def test_the_jwt_secret_file_is_read_once_per_settings_object(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    first = settings.resolved_jwt_secret()
    (data_dir / "jwt-secret").write_text("rotated-on-disk")
    assert settings.resolved_jwt_secret() == first  # the file was not read again
    (data_dir / "jwt-secret").unlink()
    assert settings.resolved_jwt_secret() == first  # nor regenerated
    assert not (data_dir / "jwt-secret").exists()
    # A restart is a new Settings: it reads (or generates) the file afresh.
    (data_dir / "jwt-secret").write_text("rotated-on-disk")
    assert Settings(data_dir=data_dir).resolved_jwt_secret() == "rotated-on-disk"


def test_the_backend_resolves_its_jwt_secret_at_start_up(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    with BackgroundServer(settings, migrate=False):
        written = (data_dir / "jwt-secret").read_text()
    assert settings.resolved_jwt_secret() == written
