"""One interview's stream while a connection holds it: offsets, appends, batched fsync,
questions, and finalization. The WebSocket route only moves messages in and out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app.core.errors import Conflict, NotFound
from backend.app.models import Interview
from backend.app.models.enums import InterviewStatus
from backend.app.repositories import audit, interviews
from backend.app.services import messages
from backend.app.services.auth import Principal, require_owner
from backend.app.services.streaming.protocol import (
    CLOSE_POLICY,
    SAMPLE_WIDTH,
    AudioFormat,
    ProtocolViolation,
    error,
    parse_frame,
)
from backend.app.services.streaming.recording import RecordingFile, recording_path

logger = structlog.get_logger(__name__)
FINISHED = (InterviewStatus.COMPLETED, InterviewStatus.ABANDONED)


async def authorize_stream(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID
) -> None:
    """Only the interview's candidate streams it, and only while it is not finished."""
    interview = await session.get(Interview, interview_id)
    if interview is None:
        raise NotFound(messages.interview_not_found(interview_id))
    # Staff may read an interview but never speak into it.
    require_owner(principal, interview.candidate_id, messages.INTERVIEW_FORBIDDEN, or_staff=False)
    if interview.status in FINISHED:
        raise Conflict(f"Interview {interview_id} is {interview.status}")


def _ready_for_completed(interview: Interview) -> dict[str, Any]:
    audio_bytes = interview.audio_bytes or 0
    return {
        "type": "ready",
        "interview_id": str(interview.id),
        "resume_offset": audio_bytes,
        "question": None,
        "completed": {
            "audio_bytes": audio_bytes,
            "duration_seconds": interview.duration_seconds,
            "sha256": interview.audio_sha256,
        },
    }


def _question(interview: Interview) -> dict[str, Any] | None:
    index = interview.current_question_index
    if index >= len(interview.questions):
        return None
    total = len(interview.questions)
    return {"index": index, "total": total, "text": interview.questions[index].text}


def _then_ask(ack: dict[str, Any], question: dict[str, Any] | None) -> list[dict[str, Any]]:
    if question is None:
        return [ack, {"type": "questions_complete"}]
    return [ack, {"type": "question", **question}]


class InterviewStream:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        data_dir: Path,
        interview_id: uuid.UUID,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._data_dir = data_dir
        self.interview_id = interview_id
        self._recording: RecordingFile | None = None
        self._format: AudioFormat | None = None
        self._acked = -1

    async def start(self, audio_format: AudioFormat) -> dict[str, Any]:
        """Accept a hello: fix or check the format, open the recording, answer ``ready``.

        A ``ready`` carrying ``completed`` means the interview completed between the
        handshake and this hello (an earlier connection's ``end`` arrived): the caller closes.
        """
        async with self._sessionmaker() as session:
            interview = await interviews.get_with_questions(session, self.interview_id)
            if interview is not None and interview.status == InterviewStatus.COMPLETED:
                return _ready_for_completed(interview)
            if interview is None or interview.status in FINISHED:
                # Abandoned or deleted between the handshake and the hello.
                raise ProtocolViolation(
                    CLOSE_POLICY, error("bad_message", "the interview is over"), "finished"
                )
            if interview.audio_sample_rate is None:
                interview.audio_encoding = audio_format.encoding
                interview.audio_sample_rate = audio_format.sample_rate
                interview.audio_channels = audio_format.channels
            elif (
                interview.audio_encoding,
                interview.audio_sample_rate,
                interview.audio_channels,
            ) != (audio_format.encoding, audio_format.sample_rate, audio_format.channels):
                raise ProtocolViolation(
                    CLOSE_POLICY,
                    error(
                        "format_mismatch",
                        f"this interview streams {interview.audio_encoding} at "
                        f"{interview.audio_sample_rate} Hz, {interview.audio_channels} channel(s)",
                    ),
                    "format mismatch",
                )
            self._format = audio_format
            self._recording = await asyncio.to_thread(
                RecordingFile,
                recording_path(self._data_dir, self.interview_id),
                SAMPLE_WIDTH * audio_format.channels,
            )
            if interview.status == InterviewStatus.SCHEDULED:
                interview.status = InterviewStatus.IN_PROGRESS
                interview.started_at = datetime.now(UTC)
                if interview.questions and interview.questions[0].answer_start_offset is None:
                    interview.questions[0].answer_start_offset = 0
                audit.record(session, interview.candidate_id, "interview_started", "interview",
                             interview.id)  # fmt: skip
            await session.commit()
            resume_offset = self._recording.durable_end
            self._acked = resume_offset
            logger.info("stream_ready", interview_id=str(self.interview_id),
                        resume_offset=resume_offset)  # fmt: skip
            return {
                "type": "ready",
                "interview_id": str(self.interview_id),
                "resume_offset": resume_offset,
                "question": _question(interview),
            }

    def receive_audio(self, frame: bytes) -> dict[str, Any] | None:
        """Store the new part of a frame; returns a ``gap`` error to send, or None."""
        assert self._recording is not None and self._format is not None
        offset, audio = parse_frame(frame, self._format.channels)
        end = self._recording.written_end
        if offset > end:
            return error("gap", f"expected offset {end}, got {offset}", expected_offset=end)
        already = end - offset
        if already < len(audio):
            self._recording.append(audio[already:] if already else audio)
        return None

    async def ack_if_new(self) -> dict[str, Any] | None:
        """fsync what arrived since the last ack; the ack to send, or None if nothing new."""
        if self._recording is None:
            return None
        durable = await self._recording.sync()
        if durable == self._acked:
            return None
        self._acked = durable
        return {"type": "ack", "offset": durable}

    async def _ack(self) -> dict[str, Any]:
        assert self._recording is not None
        self._acked = await self._recording.sync()
        return {"type": "ack", "offset": self._acked}

    async def answer_done(self, index: int | None = None) -> list[dict[str, Any]]:
        """End the current answer and move on; answers with the question now current.

        ``index`` (v1.1) names the answer the client means to end. A repeat, or any index
        but the current one, is already done: the reply is the current question, and no
        question is skipped or asked twice. Without it (a v1 client) the current answer ends.
        """
        ack = await self._ack()
        async with self._sessionmaker() as session:
            interview = await self._interview(session)
            current = interview.current_question_index
            if current >= len(interview.questions):
                return [ack, {"type": "questions_complete"}]
            if index is not None and index != current:
                logger.info("answer_done_repeated", interview_id=str(self.interview_id),
                            index=index, current=current)  # fmt: skip
                return _then_ask(ack, _question(interview))
            index = current
            interview.questions[index].answer_end_offset = self._acked
            interview.current_question_index = index + 1
            if index + 1 < len(interview.questions):
                interview.questions[index + 1].answer_start_offset = self._acked
            await session.commit()
            following = _question(interview)
        return _then_ask(ack, following)

    async def _interview(self, session: AsyncSession) -> Interview:
        interview = await interviews.get_with_questions(session, self.interview_id)
        if interview is None:  # deleted while streaming: nothing left to record against
            raise ProtocolViolation(
                CLOSE_POLICY, error("bad_message", "the interview is gone"), "deleted"
            )
        return interview

    async def end(self) -> list[dict[str, Any]]:
        ack = await self._ack()
        assert self._recording is not None and self._format is not None
        audio_bytes = self._acked
        digest = await self._recording.digest()  # kept as audio arrived: no file read
        duration = audio_bytes / self._format.bytes_per_second
        async with self._sessionmaker() as session:
            interview = await self._interview(session)
            index = interview.current_question_index
            if index < len(interview.questions):
                interview.questions[index].answer_end_offset = audio_bytes
            interview.status = InterviewStatus.COMPLETED
            interview.completed_at = datetime.now(UTC)
            interview.duration_seconds = duration
            interview.audio_bytes = audio_bytes
            interview.audio_sha256 = digest
            audit.record(session, interview.candidate_id, "interview_completed", "interview",
                         interview.id, audio_bytes=audio_bytes)  # fmt: skip
            await session.commit()
        logger.info("stream_completed", interview_id=str(self.interview_id),
                    audio_bytes=audio_bytes, duration_seconds=round(duration, 3))  # fmt: skip
        completed = {
            "type": "completed",
            "audio_bytes": audio_bytes,
            "duration_seconds": duration,
            "sha256": digest,
        }
        return [ack, completed]

    async def close(self) -> None:
        """Make everything received durable (the next connection resumes from it) and close."""
        if self._recording is not None:
            await self._recording.sync()
            self._recording.close()
            self._recording = None
