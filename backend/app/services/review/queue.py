"""The reviewer's list: the completed interviews they may review, with where each stands."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import Forbidden
from backend.app.models import (
    Incident,
    Interview,
    JobPosting,
    PostingReviewer,
    Review,
    ReviewRating,
    Transcript,
    User,
)
from backend.app.models.enums import InterviewStatus, ReviewStatus, TranscriptState
from backend.app.schemas.reviews import ReviewQueueRow
from backend.app.services import messages
from backend.app.services.auth import Principal

LIMIT = 500


def review_status(
    assigned: set[uuid.UUID], started: set[uuid.UUID], done: set[uuid.UUID]
) -> ReviewStatus:
    """New until someone starts; reviewed once every assigned reviewer (or, with none
    assigned, anyone) has submitted; in review in between."""
    if not started:
        return ReviewStatus.NEW
    if (assigned and assigned <= done) or (not assigned and done):
        return ReviewStatus.REVIEWED
    return ReviewStatus.IN_REVIEW


async def assigned_postings(session: AsyncSession, principal: Principal) -> list[uuid.UUID] | None:
    """The postings the caller reviews; None for admins (every posting)."""
    if principal.is_admin:
        return None
    if not principal.is_reviewer:
        raise Forbidden(messages.REVIEW_FORBIDDEN)
    rows = await session.scalars(
        select(PostingReviewer.job_posting_id).where(PostingReviewer.user_id == principal.id)
    )
    return list(rows)


async def review_queue(
    session: AsyncSession,
    principal: Principal,
    posting_id: uuid.UUID | None = None,
    status: ReviewStatus | None = None,
) -> list[ReviewQueueRow]:
    postings = await assigned_postings(session, principal)
    statement = (
        select(Interview, User.full_name, JobPosting.title)
        .join(User, User.id == Interview.candidate_id)
        .join(JobPosting, JobPosting.id == Interview.job_posting_id)
        .where(Interview.status == InterviewStatus.COMPLETED)
    )
    if postings is not None:
        statement = statement.where(Interview.job_posting_id.in_(postings))
    if posting_id is not None:
        statement = statement.where(Interview.job_posting_id == posting_id)
    ordered = statement.order_by(Interview.completed_at.desc()).limit(LIMIT)
    found = (await session.execute(ordered)).all()
    ids = [interview.id for interview, _name, _title in found]
    if not ids:
        return []

    started: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    done: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for interview_id, reviewer_id, submitted_at in await session.execute(
        select(Review.interview_id, Review.reviewer_id, Review.submitted_at)
        .where(Review.interview_id.in_(ids))
    ):  # fmt: skip
        started[interview_id].add(reviewer_id)
        if submitted_at is not None:
            done[interview_id].add(reviewer_id)
    averages: dict[uuid.UUID, float] = dict((await session.execute(
        select(Review.interview_id, func.avg(ReviewRating.rating))
        .join(ReviewRating, ReviewRating.review_id == Review.id)
        .where(Review.interview_id.in_(ids), Review.submitted_at.is_not(None))
        .group_by(Review.interview_id)
    )).all())  # fmt: skip
    assigned: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for posting, reviewer in await session.execute(
        select(PostingReviewer.job_posting_id, PostingReviewer.user_id)
    ):
        assigned[posting].add(reviewer)
    incidents = dict((await session.execute(
        select(Incident.interview_id, func.count()).where(Incident.interview_id.in_(ids))
        .group_by(Incident.interview_id)
    )).all())  # fmt: skip
    failed = dict((await session.execute(
        select(Transcript.interview_id, func.count())
        .where(Transcript.interview_id.in_(ids),
               Transcript.state == TranscriptState.FAILED.value)
        .group_by(Transcript.interview_id)
    )).all())  # fmt: skip

    rows = []
    for interview, candidate_name, title in found:
        assert interview.job_posting_id is not None  # joined on it
        mine = (
            "submitted" if principal.id in done[interview.id]
            else "draft" if principal.id in started[interview.id]
            else "none"
        )  # fmt: skip
        visible = principal.is_admin or mine == "submitted"
        average = averages.get(interview.id)
        flags = []
        if count := incidents.get(interview.id):
            flags.append(f"{count} incident{'s' if count > 1 else ''}")
        if interview.preflight is not None and not interview.preflight.get("fit", True):
            flags.append("microphone check failed")
        if count := failed.get(interview.id):
            flags.append(f"{count} transcript{'s' if count > 1 else ''} failed")
        row = ReviewQueueRow(
            interview_id=interview.id, candidate_name=candidate_name,
            job_posting_id=interview.job_posting_id, posting_title=title,
            completed_at=interview.completed_at, duration_seconds=interview.duration_seconds,
            status=review_status(assigned[interview.job_posting_id], started[interview.id],
                                 done[interview.id]),
            my_review=mine,
            average_rating=round(float(average), 2) if visible and average is not None else None,
            flags=flags,
        )  # fmt: skip
        if status is None or row.status == status:
            rows.append(row)
    return rows


Sort = Literal["newest", "oldest", "candidate", "rating"]
SORTS: dict[str, str] = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "candidate": "Candidate A-Z",
    "rating": "Highest rating",
}


@dataclass(frozen=True)
class Listing:
    """The list page: its rows after filters and sorting, and what the filters offer."""

    rows: list[ReviewQueueRow]
    postings: list[tuple[uuid.UUID, str]]
    counts: dict[ReviewStatus, int]
    posting: uuid.UUID | None
    status: ReviewStatus | None
    sort: Sort


def filters(
    posting: str, status: str, sort: str
) -> tuple[uuid.UUID | None, ReviewStatus | None, Sort]:
    """The list page's query, read leniently: empty or unknown values filter nothing."""
    try:
        posting_id = uuid.UUID(posting) if posting else None
    except ValueError:
        posting_id = None
    chosen_status = ReviewStatus(status) if status in ReviewStatus._value2member_map_ else None
    chosen_sort: Sort = sort if sort in SORTS else "newest"  # type: ignore[assignment]
    return posting_id, chosen_status, chosen_sort


def _sorted(rows: list[ReviewQueueRow], sort: Sort) -> list[ReviewQueueRow]:
    if sort == "oldest":
        return sorted(rows, key=lambda r: r.completed_at or datetime.min.replace(tzinfo=UTC))
    if sort == "candidate":
        return sorted(rows, key=lambda r: r.candidate_name.casefold())
    if sort == "rating":  # hidden averages last: unknown is not low
        return sorted(rows, key=lambda r: (r.average_rating is None, -(r.average_rating or 0)))
    return rows  # newest first, as queried


async def review_listing(
    session: AsyncSession,
    principal: Principal,
    posting: uuid.UUID | None,
    status: ReviewStatus | None,
    sort: Sort,
) -> Listing:
    every = await review_queue(session, principal, posting)
    counts = {s: sum(1 for r in every if r.status == s) for s in ReviewStatus}
    visible = await assigned_postings(session, principal)
    statement = select(JobPosting.id, JobPosting.title).order_by(JobPosting.title)
    if visible is not None:
        statement = statement.where(JobPosting.id.in_(visible))
    postings = [(pid, title) for pid, title in (await session.execute(statement))]
    rows = [r for r in every if status is None or r.status == status]
    return Listing(_sorted(rows, sort), postings, counts, posting, status, sort)
