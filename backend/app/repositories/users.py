"""Queries about users and sign-in failures."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import LoginFailure, User
from backend.app.models.enums import Role


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def search_candidates(session: AsyncSession, query: str, limit: int) -> list[User]:
    statement = select(User).where(User.role == Role.CANDIDATE, User.is_active.is_(True))
    if query:
        escaped = query.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
            )
        )
    return list(await session.scalars(statement.order_by(User.full_name).limit(limit)))


async def failures_since(
    session: AsyncSession, since: datetime, *, email: str | None = None,
    client_address: str | None = None,
) -> list[datetime]:  # fmt: skip
    """When the failed sign-ins since ``since`` happened, oldest first: for one e-mail, or
    from one client address."""
    column, value = (
        (LoginFailure.email, email) if email is not None
        else (LoginFailure.client_address, client_address)
    )  # fmt: skip
    rows = await session.scalars(
        select(LoginFailure.at).where(column == value, LoginFailure.at >= since)
        .order_by(LoginFailure.at)
    )  # fmt: skip
    return list(rows)


async def record_failure(
    session: AsyncSession, email: str, at: datetime, client_address: str | None
) -> None:
    session.add(LoginFailure(email=email, at=at, client_address=client_address))


async def forget_failures_before(session: AsyncSession, before: datetime) -> None:
    """Failures past every window count for nothing: kept, they would only grow the table."""
    await session.execute(delete(LoginFailure).where(LoginFailure.at < before))


async def clear_failures(session: AsyncSession, email: str) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.email == email))
