"""Queries about revoked tokens (the deny-list of token ids) and the session tokens proctors
launched at kiosks (what ending a seat's session revokes)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import LaunchedSession, RevokedToken

# The PostgreSQL channel on which revoked token ids are announced to every backend process.
REVOKED_CHANNEL = "ik_tokens_revoked"


async def is_revoked(session: AsyncSession, token_id: str) -> bool:
    # A primary-key lookup: the price every authenticated request pays for revocation.
    found = await session.scalar(
        select(RevokedToken.token_id).where(RevokedToken.token_id == token_id)
    )
    return found is not None


async def revoke(session: AsyncSession, token_id: str, expires_at: datetime, reason: str) -> None:
    """Refuse ``token_id`` until ``expires_at`` (when the token would be refused anyway).
    Revoking twice is a no-op, also at the same moment from two requests (the kiosk signing a
    session out as the console ends it): the database drops the second row, not the request."""
    insert = postgresql.insert if _on_postgresql(session) else sqlite.insert
    await session.execute(
        insert(RevokedToken)
        .values(token_id=token_id, expires_at=expires_at, reason=reason)
        .on_conflict_do_nothing(index_elements=["token_id"])
    )


async def announce(session: AsyncSession, token_ids: set[str]) -> None:
    """Tell every backend process sharing a PostgreSQL database that these tokens were revoked
    (each closes the streams they opened, ``StreamRegistry``). Sent with the transaction that
    revokes them: PostgreSQL delivers it at commit, once the deny-list says so too."""
    if not token_ids or not _on_postgresql(session):
        return
    # Token ids are 32 hex characters: a seat's few fit NOTIFY's 8000 bytes many times over.
    await session.execute(select(func.pg_notify(REVOKED_CHANNEL, ",".join(sorted(token_ids)))))


async def forget_expired(session: AsyncSession, now: datetime) -> None:
    """Entries whose tokens have expired decide nothing any more."""
    await session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    await session.execute(delete(LaunchedSession).where(LaunchedSession.expires_at <= now))


def record_launch(
    session: AsyncSession, token_id: str, kiosk_id: str, candidate_id: uuid.UUID,
    expires_at: datetime,
) -> None:  # fmt: skip
    session.add(LaunchedSession(token_id=token_id, kiosk_id=kiosk_id,
                                candidate_id=candidate_id, expires_at=expires_at))  # fmt: skip


async def launched_at(
    session: AsyncSession, kiosk_id: str, before: datetime, now: datetime
) -> list[tuple[str, datetime]]:
    """The session tokens launched at ``kiosk_id`` up to ``before`` that have not expired
    by ``now``: (id, expiry)."""
    rows = await session.execute(
        select(LaunchedSession.token_id, LaunchedSession.expires_at).where(
            LaunchedSession.kiosk_id == kiosk_id,
            LaunchedSession.launched_at <= before,
            LaunchedSession.expires_at > now,
        )
    )
    return [(token_id, expires_at) for token_id, expires_at in rows]


def _on_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"
