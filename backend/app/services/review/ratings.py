"""Reviews: each reviewer's 1-5 rating and comment per answer, a recommendation and notes.

Blind scoring: a reviewer sees the other reviewers' ratings only once their own review is
submitted, so the first opinion read does not anchor their own; and a submitted review is
final, or a reviewer could submit anything, read the others, and rewrite theirs. Admins, who
oversee rather than score, see every submitted review. Every save and submission is audited.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.app.core.errors import BadRequest, Conflict, NotFound
from backend.app.models import Interview, Review, ReviewRating, User
from backend.app.models.enums import Recommendation
from backend.app.repositories import audit, interviews
from backend.app.schemas.reviews import InterviewReviews, RatingRead, ReviewRead, ReviewUpdate
from backend.app.services import messages
from backend.app.services.auth import Principal
from backend.app.services.review.access import require_review_of


async def reviewable(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID
) -> Interview:
    """The interview with its questions, if the caller may review it."""
    interview = await interviews.get_with_questions(session, interview_id)
    if interview is None:
        raise NotFound(messages.interview_not_found(interview_id))
    await require_review_of(session, principal, interview)
    return interview


async def _reviews(session: AsyncSession, interview_id: uuid.UUID) -> list[tuple[Review, str]]:
    rows = await session.execute(
        select(Review, User.full_name)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.interview_id == interview_id)
        .options(selectinload(Review.ratings))
        .order_by(Review.submitted_at, Review.created_at)
    )
    return [(review, name) for review, name in rows]


def _read(review: Review, name: str) -> ReviewRead:
    return ReviewRead(
        reviewer_id=review.reviewer_id, reviewer_name=name,
        recommendation=Recommendation(review.recommendation) if review.recommendation else None,
        notes=review.notes, submitted_at=review.submitted_at, updated_at=review.updated_at,
        ratings=[RatingRead.model_validate(r) for r in review.ratings],
    )  # fmt: skip


def _visible(principal: Principal, rows: list[tuple[Review, str]]) -> InterviewReviews:
    mine = next(((r, n) for r, n in rows if r.reviewer_id == principal.id), None)
    hidden = not principal.is_admin and (mine is None or mine[0].submitted_at is None)
    submitted = [(r, n) for r, n in rows if r.submitted_at is not None]
    others = [] if hidden else [(r, n) for r, n in submitted if r.reviewer_id != principal.id]
    ratings: dict[int, list[int]] = defaultdict(list)
    if not hidden:
        for review, _name in submitted:
            for rating in review.ratings:
                ratings[rating.question_index].append(rating.rating)
    return InterviewReviews(
        mine=_read(*mine) if mine else None,
        others_hidden=hidden,
        others=[_read(r, n) for r, n in others],
        average_by_question={q: round(sum(v) / len(v), 2) for q, v in sorted(ratings.items())},
    )


async def reviews_of(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID
) -> InterviewReviews:
    await reviewable(session, principal, interview_id)
    return _visible(principal, await _reviews(session, interview_id))


def answered(interview: Interview) -> list[int]:
    """The questions with a kept answer: what a submitted review must rate."""
    return [
        q.index
        for q in interview.questions
        if q.answer_start_offset is not None
        and q.answer_end_offset is not None
        and q.answer_end_offset > q.answer_start_offset  # asked as the interview ended: no answer
    ]


async def save_review(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID, update: ReviewUpdate
) -> InterviewReviews:
    """Keep the caller's review as sent (ratings replaced whole); submit it if asked.

    Raises:
        BadRequest: a rating for a question the interview does not have, two for one, or a
            submission without a rating for every answered question or a recommendation.
        Conflict: the caller's review is already submitted (it is final), or another tab
            saved it first.
    """
    interview = await reviewable(session, principal, interview_id)
    planned = {q.index for q in interview.questions}
    indices = [r.question_index for r in update.ratings]
    if len(set(indices)) != len(indices):
        raise BadRequest(messages.RATED_TWICE)
    if unknown := sorted(set(indices) - planned):
        raise BadRequest(messages.no_such_questions(unknown))
    if update.submit:
        missing = sorted(set(answered(interview)) - set(indices))
        if missing or update.recommendation is None:
            raise BadRequest(messages.incomplete_review(missing, update.recommendation is None))
    review = await session.scalar(
        select(Review)
        .where(Review.interview_id == interview_id, Review.reviewer_id == principal.id)
        .options(selectinload(Review.ratings))
    )
    now = datetime.now(UTC)
    if review is not None and review.submitted_at is not None:
        raise Conflict(messages.REVIEW_FINAL)
    if review is None:
        review = Review(interview_id=interview_id, reviewer_id=principal.id, ratings=[])
        session.add(review)
    else:
        review.ratings.clear()
    # The old ratings are deleted before the new ones (same keys) are inserted.
    try:
        await session.flush()
    except IntegrityError:  # a first save from another tab won the race
        await session.rollback()
        raise Conflict(messages.REVIEW_SAVED_ELSEWHERE) from None
    review.ratings.extend(
        ReviewRating(question_index=r.question_index, rating=r.rating, comment=r.comment)
        for r in sorted(update.ratings, key=lambda r: r.question_index)
    )
    review.recommendation = update.recommendation.value if update.recommendation else None
    review.notes = update.notes
    review.updated_at = now
    if update.submit:
        review.submitted_at = now
    action = "review_submitted" if update.submit else "review_saved"
    audit.record(session, principal.id, action, "interview", interview_id,
                 ratings={str(r.question_index): r.rating for r in update.ratings},
                 recommendation=review.recommendation)  # fmt: skip
    await session.commit()
    return _visible(principal, await _reviews(session, interview_id))
