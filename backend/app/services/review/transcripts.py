"""Reading an interview's transcripts: each kept answer's text, words and job state."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import NotFound
from backend.app.models import Transcript
from backend.app.models.enums import TranscriptState
from backend.app.repositories import interviews
from backend.app.schemas.reviews import AnswerTranscript, InterviewTranscripts, TranscriptWord
from backend.app.services import messages
from backend.app.services.auth import Principal
from backend.app.services.review.access import require_review_of
from backend.app.services.transcription import jobs


def answer_transcript(row: Transcript) -> AnswerTranscript:
    words = [TranscriptWord(word=str(w[0]), start=float(w[1]), end=float(w[2]))  # type: ignore[arg-type]
             for w in row.words or ()]  # fmt: skip
    return AnswerTranscript(
        question_index=row.question_index, state=TranscriptState(row.state),
        attempts=row.attempts, error=row.error, text=row.text, words=words,
        language=row.language, model=row.model, audio_seconds=row.audio_seconds,
        work_seconds=row.work_seconds, queued_at=row.queued_at, finished_at=row.finished_at,
    )  # fmt: skip


async def transcripts_of(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID, model: str | None
) -> InterviewTranscripts:
    """Every kept answer's transcript and where its job stands, for those who may review it.
    ``model`` is this backend's model (None: transcripts are off here)."""
    interview = await interviews.get_with_questions(session, interview_id)
    if interview is None:
        raise NotFound(messages.interview_not_found(interview_id))
    await require_review_of(session, principal, interview)
    rows = await jobs.for_interview(session, interview_id)
    return InterviewTranscripts(
        transcription="on" if model else "off",
        model=model,
        answers=[answer_transcript(row) for row in rows],
    )
