"""Candidates' voices kept only as long as allowed.

Each posting keeps a completed interview's recording, its questions read aloud and its
transcripts for ``retention_days`` after the decision (the last review submitted; the
completion if it was never reviewed); then the retention job deletes them. The interview's
record, its reviews and the audit log stay: the decision and who made it outlive the audio.
An admin can also delete one candidate's interviews, files and rows, at once (a request
under data-protection law). Deleted means gone from disk, not marked.

Files go first, then the rows that say they exist: a crash between the two leaves an
interview the next run finds again and finishes, never a row pointing at audio that was kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app.core.config import Settings
from backend.app.core.errors import Conflict, NotFound
from backend.app.models import Incident, Interview, JobPosting, Review, Transcript, User
from backend.app.models.enums import Role
from backend.app.repositories import audit
from backend.app.schemas.jobs import DEFAULT_RETENTION_DAYS
from backend.app.schemas.reviews import CandidateDeletion
from backend.app.services import messages
from backend.app.services.auth import Principal, require_admin
from backend.app.services.streaming.recording import recording_path

logger = structlog.get_logger(__name__)


def speech_dir(data_dir: Path, interview_id: uuid.UUID) -> Path:
    return data_dir / "speech" / str(interview_id)


def remove_media(data_dir: Path, interview_id: uuid.UUID) -> int:
    """Delete the interview's recording and speech from disk (blocking); files removed."""
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        recording_path(data_dir, interview_id).unlink()
        removed += 1
    speech = speech_dir(data_dir, interview_id)
    if speech.is_dir():
        removed += sum(1 for path in speech.rglob("*") if path.is_file())
        shutil.rmtree(speech, ignore_errors=True)
    return removed


async def expired(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Interviews whose audio is past its posting's retention."""
    decided = (
        select(Review.interview_id, func.max(Review.submitted_at).label("decided_at"))
        .where(Review.submitted_at.is_not(None))
        .group_by(Review.interview_id)
        .subquery()
    )
    rows = await session.execute(
        select(Interview.id, Interview.created_at, Interview.completed_at, decided.c.decided_at,
               JobPosting.retention_days)
        .outerjoin(JobPosting, JobPosting.id == Interview.job_posting_id)
        .outerjoin(decided, decided.c.interview_id == Interview.id)
        .where(Interview.media_deleted_at.is_(None))
    )  # fmt: skip
    found = []
    # An interview never completed (a seat that never came back, one abandoned) is counted
    # from its creation: no audio is kept forever because nobody finished it.
    for interview_id, created_at, completed_at, decided_at, days in rows:
        since = decided_at or completed_at or created_at
        if since is None:
            continue
        if since.tzinfo is None:  # SQLite hands an aggregate back without the column's type
            since = since.replace(tzinfo=UTC)
        if since + timedelta(days=days or DEFAULT_RETENTION_DAYS) <= now:
            found.append(interview_id)
    return found


@dataclass(frozen=True)
class Purged:
    interview_id: uuid.UUID
    files: int


async def purge_expired(
    sessionmaker: async_sessionmaker[AsyncSession], data_dir: Path, now: datetime
) -> list[Purged]:
    """Delete every expired interview's audio and transcripts; what was deleted."""
    async with sessionmaker() as session:
        interview_ids = await expired(session, now)
    purged = []
    for interview_id in interview_ids:
        files = await asyncio.to_thread(remove_media, data_dir, interview_id)
        async with sessionmaker() as session:
            await session.execute(delete(Transcript).where(Transcript.interview_id == interview_id))
            await session.execute(
                update(Interview).where(Interview.id == interview_id).values(media_deleted_at=now)
            )
            audit.record(session, None, "retention_deleted", "interview", interview_id,
                         files=files)  # fmt: skip
            await session.commit()
        logger.info("retention_deleted", interview_id=str(interview_id), files=files)
        purged.append(Purged(interview_id, files))
    return purged


class RetentionJob:
    """Runs ``purge_expired`` every ``IK_RETENTION_CHECK_SECONDS`` in the backend (every
    process may: the deletions are idempotent)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings

    async def run(self) -> None:
        while True:
            try:
                await purge_expired(self._sessionmaker, self._settings.data_dir, datetime.now(UTC))
            except (SQLAlchemyError, OSError) as exc:  # not migrated yet, disk trouble: next time
                logger.warning("retention_not_run", error=type(exc).__name__)
            except Exception:  # anything else: said in the log, and the job lives on
                logger.exception("retention_failed")
            await asyncio.sleep(self._settings.retention_check_seconds)


async def delete_candidate_interviews(
    session: AsyncSession,
    principal: Principal,
    candidate_id: uuid.UUID,
    data_dir: Path,
    streaming: Callable[[uuid.UUID], Awaitable[bool]],
) -> CandidateDeletion:
    """Delete every interview of one candidate: its files, transcripts, reviews, share links
    and rows (admins); incidents the proctors filed stay with the room, unlinked from it.
    Refused while one of them is streaming to any backend process (``streaming(id)``): end
    the session first. One
    left "in progress" by a seat that never came back is deleted like the rest."""
    require_admin(principal)
    candidate = await session.get(User, candidate_id)
    if candidate is None or candidate.role != Role.CANDIDATE:
        raise NotFound(messages.candidate_id_not_found(candidate_id))
    found = list(await session.scalars(
        select(Interview).where(Interview.candidate_id == candidate_id)
    ))  # fmt: skip
    for interview in found:
        if await streaming(interview.id):
            raise Conflict(messages.INTERVIEW_UNDER_WAY)
    files = 0
    for interview in found:
        files += await asyncio.to_thread(remove_media, data_dir, interview.id)
    # Questions, takes, transcripts, reviews and share links go with each interview (foreign
    # keys cascade); a proctor's incident note is the room's record and stays, unlinked.
    ids = [i.id for i in found]
    await session.execute(
        update(Incident).where(Incident.interview_id.in_(ids)).values(interview_id=None)
    )
    await session.execute(delete(Interview).where(Interview.candidate_id == candidate_id))
    audit.record(session, principal.id, "candidate_interviews_deleted", "user", candidate_id,
                 interviews=[str(i.id) for i in found], files=files)  # fmt: skip
    await session.commit()
    return CandidateDeletion(interviews_deleted=len(found), files_deleted=files)
