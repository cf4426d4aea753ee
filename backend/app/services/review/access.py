"""Who may review an interview: admins, and reviewers assigned to its posting once it is over.

The one rule every reviewer-facing route and page goes through; candidates and proctors are
never reviewers (candidates never see evaluations, and a proctor's part ends with the room).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import Forbidden
from backend.app.models import Interview, PostingReviewer
from backend.app.models.enums import InterviewStatus
from backend.app.services import messages
from backend.app.services.auth import Principal


async def is_assigned(session: AsyncSession, posting_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(PostingReviewer.user_id).where(
            PostingReviewer.job_posting_id == posting_id, PostingReviewer.user_id == user_id
        )
    )
    return found is not None


async def require_review_of(
    session: AsyncSession, principal: Principal, interview: Interview
) -> None:
    """Raises Forbidden unless ``principal`` may review ``interview``."""
    if principal.is_admin:
        return
    if (
        principal.is_reviewer
        and interview.status == InterviewStatus.COMPLETED
        and interview.job_posting_id is not None
        and await is_assigned(session, interview.job_posting_id, principal.id)
    ):
        return
    raise Forbidden(messages.REVIEW_FORBIDDEN)
