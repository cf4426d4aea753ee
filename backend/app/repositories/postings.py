"""Queries about job postings."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import JobPosting
from backend.app.models.enums import PostingStatus


async def get(session: AsyncSession, posting_id: uuid.UUID) -> JobPosting | None:
    return await session.get(JobPosting, posting_id)


async def list_active(session: AsyncSession) -> list[JobPosting]:
    rows = await session.scalars(
        select(JobPosting)
        .where(JobPosting.status == PostingStatus.ACTIVE)
        .order_by(JobPosting.created_at.desc(), JobPosting.title)
    )
    return list(rows)
