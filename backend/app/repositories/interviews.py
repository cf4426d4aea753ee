"""Queries about interviews, with their planned questions."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.app.models import Interview, PlannedQuestion


async def get_with_questions(session: AsyncSession, interview_id: uuid.UUID) -> Interview | None:
    return await session.scalar(
        select(Interview)
        .where(Interview.id == interview_id)
        .options(selectinload(Interview.questions).selectinload(PlannedQuestion.answer_takes))
    )


async def list_filtered(
    session: AsyncSession,
    candidate_id: uuid.UUID | None,
    status: str | None,
    kiosk_id: str | None,
    limit: int,
) -> list[Interview]:
    statement = select(Interview).options(selectinload(Interview.questions))
    if candidate_id is not None:
        statement = statement.where(Interview.candidate_id == candidate_id)
    if status is not None:
        statement = statement.where(Interview.status == status)
    if kiosk_id is not None:
        statement = statement.where(Interview.kiosk_id == kiosk_id)
    rows = await session.scalars(statement.order_by(Interview.created_at.desc()).limit(limit))
    return list(rows)
