"""Transcription jobs in the database: queued with the interview's completion, claimed with a
lease, finished, retried with a growing wait, failed after the last attempt.

Every change is a compare-and-set on the row (its state and attempt count, or the claiming
worker), so several backend processes can share one queue: two never hold the same job, and
a worker whose lease was taken over cannot overwrite the new holder's result.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import Interview, Transcript
from backend.app.models.enums import TranscriptState
from backend.app.services.answer_audio import kept_span

ERROR_LIMIT = 500


def queue_answers(session: AsyncSession, interview: Interview, recorded: int) -> int:
    """Add a queued job for each kept answer of ``interview`` (its questions loaded) to the
    session, in the transaction that completes it; the number queued."""
    channels = interview.audio_channels or 1
    queued = 0
    for question in interview.questions:
        start, end = question.answer_start_offset, question.answer_end_offset
        if start is None or end is None:
            continue
        start, end = kept_span(start, end, recorded, channels)
        if end <= start:
            continue
        session.add(Transcript(
            interview_id=interview.id, question_id=question.id, question_index=question.index,
            start_offset=start, end_offset=end, state=TranscriptState.QUEUED.value, attempts=0,
        ))  # fmt: skip
        queued += 1
    return queued


@dataclass(frozen=True)
class Claimed:
    """A job a worker now holds, with what it needs to read the answer's audio."""

    id: uuid.UUID
    interview_id: uuid.UUID
    question_index: int
    start_offset: int
    end_offset: int
    sample_rate: int
    channels: int
    attempts: int


async def claim(
    session: AsyncSession, worker: str, now: datetime, lease: timedelta, max_attempts: int
) -> Claimed | None:
    """The oldest job that is due (queued and past its wait, or held under a lease that ran
    out), now held by ``worker``; None if there is none. A job whose lease ran out on its last
    attempt is failed here instead: a backend that died on it that often would again."""
    due = or_(
        and_(Transcript.state == TranscriptState.QUEUED.value, Transcript.not_before <= now),
        and_(Transcript.state == TranscriptState.TRANSCRIBING.value, Transcript.lease_until < now),
    )
    rows = (
        await session.execute(
            select(Transcript.id, Transcript.state, Transcript.attempts)
            .where(due)
            .order_by(Transcript.queued_at)
            .limit(8)
        )
    ).all()
    for job_id, state, attempts in rows:
        unchanged = (Transcript.id == job_id, Transcript.state == state,
                     Transcript.attempts == attempts)  # fmt: skip
        if state == TranscriptState.TRANSCRIBING.value and attempts >= max_attempts:
            await session.execute(update(Transcript).where(*unchanged).values(
                state=TranscriptState.FAILED.value, lease_until=None, worker=None,
                finished_at=now, error=stopped_while_working(attempts),
            ))  # fmt: skip
            await session.commit()
            continue
        # Still due as the update runs: a lease renewed since the select keeps its job.
        taken = await session.execute(update(Transcript).where(*unchanged, due).values(
            state=TranscriptState.TRANSCRIBING.value, attempts=attempts + 1, worker=worker,
            lease_until=now + lease,
        ))  # fmt: skip
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()  # another worker took it first
            continue
        await session.commit()
        row = (
            await session.execute(
                select(Transcript, Interview.audio_sample_rate, Interview.audio_channels)
                .join(Interview, Interview.id == Transcript.interview_id)
                .where(Transcript.id == job_id)
            )
        ).one()
        job, sample_rate, channels = row
        return Claimed(job.id, job.interview_id, job.question_index, job.start_offset,
                       job.end_offset, sample_rate or 16_000, channels or 1,
                       attempts + 1)  # fmt: skip
    return None


def stopped_while_working(attempts: int) -> str:
    return f"The server stopped while transcribing this answer ({attempts} attempts)"


def _held(job_id: uuid.UUID, worker: str) -> ColumnElement[bool]:
    return and_(
        Transcript.id == job_id,
        Transcript.worker == worker,
        Transcript.state == TranscriptState.TRANSCRIBING.value,
    )


async def renew(session: AsyncSession, job_id: uuid.UUID, worker: str, until: datetime) -> bool:
    """Extend the lease; False if the job is no longer this worker's."""
    result = await session.execute(
        update(Transcript).where(_held(job_id, worker)).values(lease_until=until)
    )
    await session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Result:
    text: str
    words: list[list[object]]
    language: str | None
    model: str
    audio_seconds: float
    work_seconds: float


async def finish(
    session: AsyncSession, job_id: uuid.UUID, worker: str, result: Result, now: datetime
) -> bool:
    """Keep the transcript; False if the job was no longer this worker's (nothing written)."""
    written = await session.execute(update(Transcript).where(_held(job_id, worker)).values(
        state=TranscriptState.DONE.value, text=result.text, words=result.words,
        language=result.language, model=result.model, audio_seconds=result.audio_seconds,
        work_seconds=result.work_seconds, error=None, lease_until=None, finished_at=now,
    ))  # fmt: skip
    await session.commit()
    return bool(written.rowcount == 1)  # type: ignore[attr-defined]


async def fail(
    session: AsyncSession,
    job: Claimed,
    worker: str,
    error: str,
    now: datetime,
    max_attempts: int,
    retry_after: timedelta,
) -> TranscriptState:
    """Record a failed attempt: queued again after a wait that doubles each time, or failed
    for good after the last attempt. The state it is left in."""
    if job.attempts >= max_attempts:
        state, values = TranscriptState.FAILED, {"finished_at": now}
    else:
        wait = retry_after * (2 ** (job.attempts - 1))
        state, values = TranscriptState.QUEUED, {"not_before": now + wait}
    await session.execute(update(Transcript).where(_held(job.id, worker)).values(
        state=state.value, error=error[:ERROR_LIMIT], lease_until=None, worker=None, **values,
    ))  # fmt: skip
    await session.commit()
    return state


async def release(
    session: AsyncSession, job: Claimed, worker: str, error: str, now: datetime, wait: timedelta
) -> None:
    """Give a job back without counting the attempt: the worker, not the answer, failed."""
    await session.execute(update(Transcript).where(_held(job.id, worker)).values(
        state=TranscriptState.QUEUED.value, attempts=job.attempts - 1, error=error[:ERROR_LIMIT],
        lease_until=None, worker=None, not_before=now + wait,
    ))  # fmt: skip
    await session.commit()


async def requeue_failed(session: AsyncSession, interview_id: uuid.UUID | None = None) -> int:
    """Queue every failed job (of one interview, or all) again with fresh attempts; how many."""
    statement = update(Transcript).where(Transcript.state == TranscriptState.FAILED.value)
    if interview_id is not None:
        statement = statement.where(Transcript.interview_id == interview_id)
    result = await session.execute(statement.values(
        state=TranscriptState.QUEUED.value, attempts=0, error=None, finished_at=None,
        not_before=datetime.now(UTC),
    ))  # fmt: skip
    await session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


async def for_interview(session: AsyncSession, interview_id: uuid.UUID) -> list[Transcript]:
    found = await session.scalars(
        select(Transcript)
        .where(Transcript.interview_id == interview_id)
        .order_by(Transcript.question_index)
    )
    return list(found)
