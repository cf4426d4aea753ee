"""Everything the review page shows of one interview, gathered once for its template: the
candidate and posting, the seat's microphone check, the extra time, the room's incidents, and
per question its text, kept answer, transcript and the ratings the caller may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import Incident, Interview, JobPosting, ShareLink, User
from backend.app.schemas.incidents import IncidentRead
from backend.app.schemas.interviews import InterviewDetail
from backend.app.schemas.reviews import AnswerTranscript, InterviewReviews, RatingRead
from backend.app.services.auth import Principal
from backend.app.services.interviews import interview_detail
from backend.app.services.review import ratings, sharing
from backend.app.services.review.transcripts import answer_transcript
from backend.app.services.transcription import jobs

# What each point means, beside every rating (a posting's rubric adds what the question rates).
RATING_SCALE = {
    1: "Poor: does not answer the question",
    2: "Weak: answers part of it, with gaps",
    3: "Adequate: answers it plainly",
    4: "Good: a clear, complete answer with examples",
    5: "Excellent: complete, precise and insightful",
}


@dataclass(frozen=True)
class QuestionSheet:
    index: int
    text: str
    answered: bool
    answer_seconds: float | None
    transcript: AnswerTranscript | None
    my_rating: RatingRead | None
    average: float | None
    rubric: str  # the posting's words for what this question rates ("" : the general scale)
    private: bool  # left out of share links


@dataclass(frozen=True)
class InterviewSheet:
    interview: InterviewDetail
    candidate_name: str
    posting_title: str
    completed_at: datetime | None
    total: int  # questions planned (a share link may show fewer)
    questions: list[QuestionSheet]
    reviews: InterviewReviews
    incidents: list[IncidentRead]
    transcription_on: bool


async def interview_sheet(
    session: AsyncSession,
    principal: Principal,
    interview_id: uuid.UUID,
    transcription_on: bool,
) -> InterviewSheet:
    """The page's contents, for those who may review the interview (NotFound, Forbidden)."""
    interview = await ratings.reviewable(session, principal, interview_id)
    reviews = await ratings.reviews_of(session, principal, interview_id)
    incidents = await session.scalars(
        select(Incident).where(Incident.interview_id == interview_id).order_by(Incident.reported_at)
    )
    return await _sheet(session, interview, reviews, list(incidents), set(), transcription_on)


async def shared_sheet(
    session: AsyncSession, token: str, transcription_on: bool
) -> tuple[ShareLink, InterviewSheet]:
    """What a share link shows: the interview without its private questions, ratings, notes
    or incidents (LinkGone when revoked, expired or unknown)."""
    link, interview, private = await sharing.opened(session, token)
    nobody = InterviewReviews(mine=None, others_hidden=True, others=[], average_by_question={})
    found = await _sheet(session, interview, nobody, [], set(private), transcription_on)
    return link, found


async def _sheet(
    session: AsyncSession,
    interview: Interview,
    reviews: InterviewReviews,
    incidents: list[Incident],
    leave_out: set[int],
    transcription_on: bool,
) -> InterviewSheet:
    interview_id = interview.id
    detail = interview_detail(interview)
    candidate = await session.get(User, interview.candidate_id)
    posting = (
        await session.get(JobPosting, interview.job_posting_id)
        if interview.job_posting_id
        else None
    )
    transcripts = {t.question_index: t for t in await jobs.for_interview(session, interview_id)}
    posting_rubrics = posting.question_rubrics if posting else []
    rubrics = [text.strip() for text in posting_rubrics]
    private = set(posting.private_questions) if posting else set()
    mine = {r.question_index: r for r in reviews.mine.ratings} if reviews.mine else {}
    questions = []
    for question in detail.questions:
        if question.index in leave_out:
            continue
        start, end = question.answer_start_seconds, question.answer_end_seconds
        row = transcripts.get(question.index)
        questions.append(QuestionSheet(
            index=question.index, text=question.text,
            answered=start is not None and end is not None and end > start,
            answer_seconds=(end - start) if start is not None and end is not None else None,
            transcript=answer_transcript(row) if row else None,
            my_rating=mine.get(question.index),
            average=reviews.average_by_question.get(question.index),
            rubric=rubrics[question.index] if question.index < len(rubrics) else "",
            private=question.index in private,
        ))  # fmt: skip
    return InterviewSheet(
        interview=detail,
        candidate_name=candidate.full_name if candidate else "(deleted)",
        posting_title=posting.title if posting else "Practice interview",
        completed_at=interview.completed_at,
        total=len(detail.questions),
        questions=questions,
        reviews=reviews,
        incidents=[IncidentRead.model_validate(i) for i in incidents],
        transcription_on=transcription_on,
    )
