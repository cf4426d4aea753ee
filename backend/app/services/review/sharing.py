"""Share links: one interview, read-only, for a hiring manager without an account.

A link is a random 256-bit token in the URL; the database keeps only its SHA-256, so the link
is shown once, when made. It opens one interview (never another), without the questions the
posting marks private, without ratings or notes, until it expires (7 days by default) or is
revoked. It is not a bearer token: the API refuses it. Making, revoking and every opening and
listen through it are audited.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.app.models import Interview, JobPosting, ShareLink
from backend.app.models.enums import InterviewStatus
from backend.app.repositories import audit, interviews
from backend.app.schemas.reviews import ShareLinkCreated, ShareLinkRead
from backend.app.services import messages
from backend.app.services.auth import Principal
from backend.app.services.review.ratings import reviewable

TOKEN_PREFIX = "iks_"  # noqa: S105 - marks a share token, is not one
PATH = "/shared/"


class LinkGone(DomainError):
    """The link was revoked or has expired (or never existed: the same answer, on purpose)."""

    status_code = 404


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID, days: int, base_url: str
) -> ShareLinkCreated:
    interview = await reviewable(session, principal, interview_id)
    if interview.status != InterviewStatus.COMPLETED:  # admins may review any interview
        raise Conflict(messages.INTERVIEW_NOT_COMPLETED)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    link = ShareLink(token_hash=token_hash(token), interview_id=interview_id,
                     created_by=principal.id, created_at=now,
                     expires_at=now + timedelta(days=days))  # fmt: skip
    session.add(link)
    await session.flush()
    audit.record(session, principal.id, "share_link_created", "interview", interview_id,
                 share_link=str(link.id), days=days)  # fmt: skip
    await session.commit()
    read = ShareLinkRead.model_validate(link)
    return ShareLinkCreated(**read.model_dump(), url=f"{base_url.rstrip('/')}{PATH}{token}")


async def list_for(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID
) -> list[ShareLinkRead]:
    await reviewable(session, principal, interview_id)
    rows = await session.scalars(
        select(ShareLink).where(ShareLink.interview_id == interview_id)
        .order_by(ShareLink.created_at)
    )  # fmt: skip
    return [ShareLinkRead.model_validate(row) for row in rows]


async def revoke(session: AsyncSession, principal: Principal, link_id: uuid.UUID) -> ShareLinkRead:
    """Revoke a link: anyone who may review its interview (its maker, the posting's other
    reviewers, admins): a link one of them regrets should not wait for its maker."""
    link = await session.get(ShareLink, link_id)
    if link is None:
        if not (principal.is_admin or principal.is_reviewer):
            raise Forbidden(messages.REVIEW_FORBIDDEN)
        raise NotFound(messages.share_link_not_found(link_id))
    await reviewable(session, principal, link.interview_id)
    if link.revoked_at is None:
        link.revoked_at = datetime.now(UTC)
        audit.record(session, principal.id, "share_link_revoked", "interview", link.interview_id,
                     share_link=str(link.id))  # fmt: skip
        await session.commit()
    return ShareLinkRead.model_validate(link)


async def opened(session: AsyncSession, token: str) -> tuple[ShareLink, Interview, list[int]]:
    """The link's interview (questions loaded) and its posting's private question indexes.

    Raises:
        LinkGone: no such link, revoked or expired: one answer for all three, so a guess
            learns nothing.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise LinkGone(messages.SHARE_LINK_GONE)
    link = await session.scalar(select(ShareLink).where(ShareLink.token_hash == token_hash(token)))
    if link is None or link.revoked_at is not None or link.expires_at <= datetime.now(UTC):
        raise LinkGone(messages.SHARE_LINK_GONE)
    interview = await interviews.get_with_questions(session, link.interview_id)
    if interview is None:
        raise LinkGone(messages.SHARE_LINK_GONE)
    posting = (
        await session.get(JobPosting, interview.job_posting_id)
        if interview.job_posting_id
        else None
    )
    return link, interview, list(posting.private_questions) if posting else []
