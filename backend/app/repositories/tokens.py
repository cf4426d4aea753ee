"""Queries about revoked tokens (the deny-list of token ids)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import RevokedToken


async def is_revoked(session: AsyncSession, token_id: str) -> bool:
    # A primary-key lookup: the price every authenticated request pays for revocation.
    found = await session.scalar(
        select(RevokedToken.token_id).where(RevokedToken.token_id == token_id)
    )
    return found is not None


async def revoke(session: AsyncSession, token_id: str, expires_at: datetime, reason: str) -> None:
    """Refuse ``token_id`` until ``expires_at`` (when the token would be refused anyway).
    Revoking twice is a no-op."""
    if await session.get(RevokedToken, token_id) is None:
        session.add(RevokedToken(token_id=token_id, expires_at=expires_at, reason=reason))


async def forget_expired(session: AsyncSession, now: datetime) -> None:
    """Entries whose tokens have expired decide nothing any more."""
    await session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
