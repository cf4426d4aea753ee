"""Database engine and sessions. SQLite runs in WAL mode with foreign keys enforced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from backend.app.core.config import Settings

# A database error's message (and so a logged traceback) would otherwise carry the values
# bound to its statement: e-mails, password hashes, tokens' ids.
HIDE_PARAMETERS = True


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
        cursor.close()

    return on_connect


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine for the configured database, creating the data directory if needed."""
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        timeout = settings.sqlite_busy_timeout_seconds
        engine = create_async_engine(
            url, connect_args={"timeout": timeout}, hide_parameters=HIDE_PARAMETERS
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(int(timeout * 1000)))
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=HIDE_PARAMETERS)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
