"""A database error never carries the values bound to its statement (e-mails, password
hashes): its message is what a logged traceback shows. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.app.core.config import Settings
from backend.app.core.db import create_engine
from support.settings import settings_for

SECRET = "secret.person@example.com"


async def _failed_insert(settings: Settings) -> DBAPIError:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as raised:
                await connection.execute(
                    text("INSERT INTO no_such_table (email) VALUES (:email)"), {"email": SECRET}
                )
    finally:
        await engine.dispose()
    return raised.value


def test_a_failed_statement_does_not_show_the_values_it_was_given(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Settings first, outside any loop: a PostgreSQL database is created for them.
    message = str(asyncio.run(_failed_insert(settings_for(request, tmp_path))))
    assert "no_such_table" in message  # the error itself is still there to read
    assert SECRET not in message
    assert "hidden due to hide_parameters" in message
