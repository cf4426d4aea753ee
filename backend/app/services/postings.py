"""Job postings: anyone signed in reads the active ones; admins write."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import NotFound
from backend.app.models import JobPosting
from backend.app.repositories import audit, postings
from backend.app.schemas.jobs import (
    JobPostingAdminRead,
    JobPostingCreate,
    JobPostingRead,
    JobPostingUpdate,
)
from backend.app.services import messages
from backend.app.services.auth import Principal, require_admin


async def list_active(session: AsyncSession, _principal: Principal) -> list[JobPostingRead]:
    return [JobPostingRead.model_validate(p) for p in await postings.list_active(session)]


async def create(
    session: AsyncSession, principal: Principal, request: JobPostingCreate
) -> JobPostingAdminRead:
    require_admin(principal)
    # Each override keeps only the keys sent: an absent one inherits, a null one is unlimited.
    posting = JobPosting(
        **request.model_dump(exclude={"question_rules"}),
        question_rules=[rule.model_dump(exclude_unset=True) for rule in request.question_rules],
    )
    session.add(posting)
    await session.flush()
    audit.record(session, principal.id, "job_posting_created", "job_posting", posting.id)
    await session.commit()
    return JobPostingAdminRead.model_validate(posting)


async def update(
    session: AsyncSession, principal: Principal, posting_id: uuid.UUID, request: JobPostingUpdate
) -> JobPostingAdminRead:
    """Change the fields the request sent, and only those."""
    require_admin(principal)
    posting = await postings.get(session, posting_id)
    if posting is None:
        raise NotFound(messages.posting_not_found(posting_id))
    # Unset is omitted at every depth, so each override also keeps only the keys it was sent.
    changes = request.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(posting, field, value)
    audit.record(
        session, principal.id, "job_posting_updated", "job_posting", posting.id,
        fields=sorted(changes),
    )  # fmt: skip
    await session.commit()
    return JobPostingAdminRead.model_validate(posting)
