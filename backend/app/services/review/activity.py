"""Who listened to and rated what: the review side of an interview's audit log, for admins."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import NotFound
from backend.app.models import AuditEntry, Interview, User
from backend.app.schemas.reviews import ReviewActivity
from backend.app.services import messages
from backend.app.services.auth import Principal, require_admin

REVIEW_ACTIONS = (
    "answer_played", "review_saved", "review_submitted",
    "share_link_created", "share_link_revoked", "share_link_opened",
)  # fmt: skip


async def review_activity(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID
) -> list[ReviewActivity]:
    """Every listen, save and submission on this interview, oldest first (admins)."""
    require_admin(principal)
    if await session.get(Interview, interview_id) is None:
        raise NotFound(messages.interview_not_found(interview_id))
    rows = await session.execute(
        select(AuditEntry, User.full_name, User.email)
        .join(User, User.id == AuditEntry.actor_id, isouter=True)
        .where(
            AuditEntry.subject_type == "interview",
            AuditEntry.subject_id == str(interview_id),
            AuditEntry.action.in_(REVIEW_ACTIONS),
        )
        .order_by(AuditEntry.at)
    )
    return [
        ReviewActivity(
            at=entry.at,
            action=entry.action,
            actor_id=entry.actor_id,
            actor_name=name,
            actor_email=email,
            details=entry.details,
        )
        for entry, name, email in rows
    ]
