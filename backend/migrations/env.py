"""Alembic environment: runs migrations over the app's async engine.

The URL comes from the ``Settings`` object the caller put in ``config.attributes``
(see ``backend.app.core.migrate``), so the CLI, the kiosk's embedded backend and the tests
all migrate exactly the database they will serve.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from backend.app.core.config import Settings
from backend.app.core.db import create_engine
from backend.app.models import Base

config = context.config
target_metadata = Base.metadata
# Several backend processes on one PostgreSQL database each migrate as they start (systemd
# starts them together): they take turns under this transaction-level advisory lock, and
# the ones that follow find the schema current. (An arbitrary constant: "IKmigrat".)
MIGRATION_LOCK = 0x494B6D6967726174


def _do_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_async(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_do_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run() -> None:
    settings = config.attributes.get("settings") or Settings()
    connection = config.attributes.get("connection")
    if connection is not None:
        _do_run(connection)
    else:
        asyncio.run(_run_async(settings))


run()
