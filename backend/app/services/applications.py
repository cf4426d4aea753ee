"""Applications: candidates apply and see their own; staff may read any."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import BadRequest, Conflict, NotFound
from backend.app.models import Application
from backend.app.models.enums import PostingStatus
from backend.app.repositories import applications, audit, postings
from backend.app.schemas.jobs import ApplicationRead
from backend.app.services import messages
from backend.app.services.auth import Principal, require_candidate, require_owner


def to_read(application: Application) -> ApplicationRead:
    posting = application.job_posting
    latest = application.interviews[0] if application.interviews else None
    return ApplicationRead(
        id=application.id,
        candidate_id=application.candidate_id,
        status=application.status,
        created_at=application.created_at,
        job_posting_id=posting.id,
        job_title=posting.title,
        company=posting.company,
        tech_stack=posting.tech_stack,
        role_category=posting.role_category,
        posting_status=posting.status,
        interview_id=latest.id if latest else None,
        interview_status=latest.status if latest else None,
    )


async def apply(
    session: AsyncSession, principal: Principal, posting_id: uuid.UUID
) -> ApplicationRead:
    require_candidate(principal)
    posting = await postings.get(session, posting_id)
    if posting is None:
        raise NotFound(messages.posting_not_found(posting_id))
    if posting.status != PostingStatus.ACTIVE:
        raise BadRequest(messages.POSTING_NOT_ACTIVE)
    if await applications.exists(session, principal.id, posting_id):
        raise Conflict(messages.ALREADY_APPLIED)
    application = Application(candidate_id=principal.id, job_posting_id=posting_id)
    session.add(application)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent duplicate won the race
        await session.rollback()
        raise Conflict(messages.ALREADY_APPLIED) from None
    audit.record(session, principal.id, "application_created", "application", application.id)
    await session.commit()
    loaded = await applications.get_with_posting(session, application.id)
    assert loaded is not None
    return to_read(loaded)


async def list_own(session: AsyncSession, principal: Principal) -> list[ApplicationRead]:
    return [to_read(a) for a in await applications.list_for_candidate(session, principal.id)]


async def get_for(
    session: AsyncSession, principal: Principal, application_id: uuid.UUID
) -> Application:
    """The application, if the caller may see it: its candidate, or staff. 404 before 403."""
    application = await applications.get_with_posting(session, application_id)
    if application is None:
        raise NotFound(messages.application_not_found(application_id))
    require_owner(
        principal, application.candidate_id, messages.APPLICATION_FORBIDDEN, or_staff=True
    )
    return application


async def get(
    session: AsyncSession, principal: Principal, application_id: uuid.UUID
) -> ApplicationRead:
    return to_read(await get_for(session, principal, application_id))
