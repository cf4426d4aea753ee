"""Queries about applications, always with their posting and interviews loaded up front."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.app.models import Application

_WITH_POSTING = (selectinload(Application.job_posting), selectinload(Application.interviews))


async def get_with_posting(session: AsyncSession, application_id: uuid.UUID) -> Application | None:
    return await session.scalar(
        select(Application).where(Application.id == application_id).options(*_WITH_POSTING)
    )


async def get_for_new_interview(
    session: AsyncSession, application_id: uuid.UUID
) -> Application | None:
    """The application with its posting only. Starting an interview needs none of the earlier
    ones, and loading them all made every start slower than the last (the API profile)."""
    return await session.scalar(
        select(Application)
        .where(Application.id == application_id)
        .options(selectinload(Application.job_posting))
    )


async def exists(session: AsyncSession, candidate_id: uuid.UUID, posting_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Application.id).where(
            Application.candidate_id == candidate_id, Application.job_posting_id == posting_id
        )
    )
    return found is not None


async def list_for_candidate(session: AsyncSession, candidate_id: uuid.UUID) -> list[Application]:
    rows = await session.scalars(
        select(Application)
        .where(Application.candidate_id == candidate_id)
        .options(*_WITH_POSTING)
        .order_by(Application.created_at.desc())
    )
    return list(rows)
