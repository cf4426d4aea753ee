"""One posting's reviews as CSV: a row per candidate's interview, a column per question's
average rating, the recommendations. Blind scoring holds here too: a reviewer's export shows
ratings only for the interviews they have submitted a review of (admins see all)."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.app.core.errors import Forbidden, NotFound
from backend.app.models import Interview, JobPosting, Review, User
from backend.app.models.enums import InterviewStatus
from backend.app.repositories import audit
from backend.app.services import messages
from backend.app.services.auth import Principal
from backend.app.services.review.access import is_assigned
from backend.app.services.spreadsheet import safe_cell

HIDDEN = "hidden"


async def posting_csv(
    session: AsyncSession, principal: Principal, posting_id: uuid.UUID
) -> tuple[str, str]:
    """(file name, CSV text) for the posting's completed interviews."""
    # A reviewer learns nothing of postings not theirs, not even whether they exist.
    if not principal.is_admin and not (
        principal.is_reviewer and await is_assigned(session, posting_id, principal.id)
    ):
        raise Forbidden(messages.REVIEW_FORBIDDEN)
    if await session.get(JobPosting, posting_id) is None:
        raise NotFound(messages.posting_not_found(posting_id))
    rows = (await session.execute(
        select(Interview, User.full_name, User.email)
        .join(User, User.id == Interview.candidate_id)
        .where(Interview.job_posting_id == posting_id,
               Interview.status == InterviewStatus.COMPLETED)
        .options(selectinload(Interview.questions))
        .order_by(User.full_name, Interview.completed_at)
    )).all()  # fmt: skip
    reviews: dict[uuid.UUID, list[Review]] = defaultdict(list)
    for review in await session.scalars(
        select(Review)
        .where(Review.interview_id.in_([row[0].id for row in rows]),
               Review.submitted_at.is_not(None))
        .options(selectinload(Review.ratings))
    ):  # fmt: skip
        reviews[review.interview_id].append(review)
    questions = max((len(row[0].questions) for row in rows), default=0)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["candidate", "email", "interview_id", "completed_at", "reviews",
                     *(f"q{i + 1}_average" for i in range(questions)), "average",
                     "recommendations"])  # fmt: skip
    for interview, name, email in rows:
        submitted = reviews[interview.id]
        visible = principal.is_admin or any(r.reviewer_id == principal.id for r in submitted)
        by_question: dict[int, list[int]] = defaultdict(list)
        for review in submitted:
            for rating in review.ratings:
                by_question[rating.question_index].append(rating.rating)
        cells = []
        for index in range(questions):
            ratings = by_question.get(index, [])
            cells.append(HIDDEN if not visible else _mean(ratings))
        every = [r for ratings in by_question.values() for r in ratings]
        counts = Counter(r.recommendation for r in submitted if r.recommendation)
        writer.writerow([
            safe_cell(name), safe_cell(email), str(interview.id),
            interview.completed_at.isoformat() if interview.completed_at else "",
            len(submitted), *cells, HIDDEN if not visible else _mean(every),
            HIDDEN if not visible else "; ".join(f"{k} {v}" for k, v in sorted(counts.items())),
        ])  # fmt: skip
    audit.record(session, principal.id, "reviews_exported", "job_posting", posting_id,
                 interviews=len(rows))  # fmt: skip
    await session.commit()
    return f"reviews-{posting_id}.csv", out.getvalue()


def _mean(values: list[int]) -> str:
    return f"{sum(values) / len(values):.2f}" if values else ""
