"""Which reviewers see which posting's interviews (admins decide)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import BadRequest, NotFound
from backend.app.models import PostingReviewer, User
from backend.app.models.enums import Role
from backend.app.repositories import audit, postings
from backend.app.schemas.reviews import ReviewerRead
from backend.app.services import messages
from backend.app.services.auth import Principal, require_admin


async def _reviewers(session: AsyncSession, posting_id: uuid.UUID) -> list[ReviewerRead]:
    rows = await session.scalars(
        select(User)
        .join(PostingReviewer, PostingReviewer.user_id == User.id)
        .where(PostingReviewer.job_posting_id == posting_id)
        .order_by(User.email)
    )
    return [ReviewerRead.model_validate(user) for user in rows]


async def _posting_or_404(session: AsyncSession, posting_id: uuid.UUID) -> None:
    if await postings.get(session, posting_id) is None:
        raise NotFound(messages.posting_not_found(posting_id))


async def reviewers_of(
    session: AsyncSession, principal: Principal, posting_id: uuid.UUID
) -> list[ReviewerRead]:
    require_admin(principal)
    await _posting_or_404(session, posting_id)
    return await _reviewers(session, posting_id)


async def set_reviewers(
    session: AsyncSession,
    principal: Principal,
    posting_id: uuid.UUID,
    reviewer_ids: list[uuid.UUID],
) -> list[ReviewerRead]:
    """Make exactly ``reviewer_ids`` the posting's reviewers; each must be a reviewer account."""
    require_admin(principal)
    await _posting_or_404(session, posting_id)
    wanted = set(reviewer_ids)
    found = {
        user.id: user for user in await session.scalars(select(User).where(User.id.in_(wanted)))
    }
    for reviewer_id in reviewer_ids:
        user = found.get(reviewer_id)
        if user is None or user.role != Role.REVIEWER or not user.is_active:
            raise BadRequest(messages.not_a_reviewer(reviewer_id))
    await session.execute(
        delete(PostingReviewer).where(PostingReviewer.job_posting_id == posting_id)
    )
    for reviewer_id in wanted:
        session.add(PostingReviewer(job_posting_id=posting_id, user_id=reviewer_id))
    audit.record(session, principal.id, "posting_reviewers_set", "job_posting", posting_id,
                 reviewers=sorted(str(r) for r in wanted))  # fmt: skip
    await session.commit()
    return await _reviewers(session, posting_id)
