"""One interview's stream while a connection holds it: offsets, appends, acks once the
journal has made the audio durable, questions, and finalization. The WebSocket route only
moves messages in and out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app.core.errors import Conflict, NotFound
from backend.app.models import Interview
from backend.app.models.enums import InterviewStatus
from backend.app.repositories import audit, interviews, tokens
from backend.app.services import messages
from backend.app.services.auth import Principal, require_owner
from backend.app.services.streaming.journal import Journal, JournalFailed
from backend.app.services.streaming.protocol import (
    CLOSE_INTERNAL,
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN,
    SAMPLE_WIDTH,
    AudioFormat,
    ProtocolViolation,
    TakeMessage,
    error,
    parse_frame,
)
from backend.app.services.streaming.recording import RecordingBusy, RecordingFile, recording_path
from backend.app.services.streaming.timeline import TakeRefused, Timeline
from backend.app.services.transcription import jobs as transcription_jobs

logger = structlog.get_logger(__name__)
FINISHED = (InterviewStatus.COMPLETED, InterviewStatus.ABANDONED)
# How long a stream waits for the previous one to let go of the recording (it writes and
# fsyncs what it received first): under the kiosk's 10 s wait for `ready`.
RECORDING_WAIT_SECONDS = 5.0


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


async def still_revoked(sessions: async_sessionmaker[AsyncSession], token_id: str) -> bool:
    """Asked again once the connection is registered: a token revoked between the handshake
    and then would otherwise keep its stream (the revoker looked for it too early)."""
    if not token_id:
        return False
    async with sessions() as session:
        return await tokens.is_revoked(session, token_id)


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


def _storage_failure(failed: JournalFailed) -> ProtocolViolation:
    """Nothing more can be acked: close 1011 with `storage`; the client keeps its audio."""
    return ProtocolViolation(
        CLOSE_INTERNAL, error("storage", "the backend cannot store audio now"), f"journal: {failed}"
    )


class InterviewStream:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        journal: Journal,
        interview_id: uuid.UUID,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._journal = journal
        self.interview_id = interview_id
        self._recording: RecordingFile | None = None
        self._format: AudioFormat | None = None
        self._acked = -1
        self._durable = -1  # the journal says the audio up to here is durable
        self._durable_changed = asyncio.Event()
        self._position = 0  # in the journal: the end of this stream's last record
        # A take message or `end` waits for its own ack: the ack task must not send it first
        # (the client would read the ack twice, or after the next question).
        self._ack_claimed = False
        # The offset at which a think or answer limit next ends something (None: none runs).
        self._deadline: int | None = None
        # Limits run only for a client that keeps the same clock (hello features "rules"): an
        # older one, never told a limit ran out, would end the next answer for this one.
        self._keeps_rules = False

    async def start(self, audio_format: AudioFormat, keeps_rules: bool = False) -> dict[str, Any]:
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
            try:
                # Waits for a previous stream (here or in another process) to let go of it.
                self._recording = await asyncio.to_thread(
                    RecordingFile,
                    recording_path(self._journal.data_dir, self.interview_id),
                    SAMPLE_WIDTH * audio_format.channels,
                    self._journal.writer,
                    RECORDING_WAIT_SECONDS,
                )
            except RecordingBusy as busy:  # the kiosk reconnects and tries again
                raise ProtocolViolation(CLOSE_TRY_AGAIN, None, f"busy: {busy}") from busy
            # Acknowledged audio may be in a dead process's journal only (a crash, a power
            # cut): replayed now that no live stream can write the recording, then measured.
            await self._journal.recover()
            await asyncio.to_thread(self._recording.remeasure)
            if interview.status == InterviewStatus.SCHEDULED:
                interview.status = InterviewStatus.IN_PROGRESS
                interview.started_at = datetime.now(UTC)
                if interview.questions and interview.questions[0].asked_offset is None:
                    interview.questions[0].asked_offset = 0  # thinking starts with the stream
                audit.record(session, interview.candidate_id, "interview_started", "interview",
                             interview.id)  # fmt: skip
            self._keeps_rules = keeps_rules
            timeline = Timeline(interview, audio_format.bytes_per_second, keeps_rules)
            question = timeline.question_message()
            self._deadline = timeline.deadline()
            await session.commit()
            resume_offset = self._recording.durable_end
            self._acked = self._durable = resume_offset
            logger.info("stream_ready", interview_id=str(self.interview_id),
                        resume_offset=resume_offset)  # fmt: skip
            return {
                "type": "ready",
                "interview_id": str(self.interview_id),
                "resume_offset": resume_offset,
                "question": question,
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
            data = audio[already:] if already else audio
            self._recording.append(data)  # in memory: the journal writes it out
            try:
                self._position = self._journal.append(
                    self, self._recording, self.interview_id, end, data
                )
            except JournalFailed as failed:
                raise _storage_failure(failed) from failed
        return None

    def on_durable(self, offset: int) -> None:
        """The journal made this stream's audio durable up to ``offset`` (called on the loop
        by its commit): the connection's ack task wakes."""
        if offset > self._durable:
            self._durable = offset
            self._durable_changed.set()

    async def next_ack(self) -> int:
        """Wait until more audio is durable than was acked; the offset to ack."""
        while self._ack_claimed or self._durable <= self._acked:
            self._durable_changed.clear()
            await self._durable_changed.wait()
        self._acked = self._durable
        return self._acked

    @property
    def limit_due(self) -> bool:
        """The audio has reached a think or answer limit: ``reach_limits`` must run. A plain
        comparison, so the per-frame cost is nothing until a limit passes."""
        return (
            self._deadline is not None
            and self._recording is not None
            and self._recording.written_end >= self._deadline
        )

    async def reach_limits(self) -> list[dict[str, Any]]:
        """End what the limits passed by the audio end (``answer_started``/``answer_ended``
        with reason ``limit``, then the next question). Recorded at the limit's offset,
        whenever the bytes arrive, so a resend after a crash changes nothing."""
        assert self._recording is not None
        written = self._recording.written_end
        return await self._on_timeline(lambda timeline: timeline.reach(written))

    async def take_message(self, message: TakeMessage) -> list[dict[str, Any]]:
        """``answer_started``, ``answer_done`` or ``keep_take``: the events it causes, after an
        ack (fsync) for the two that end something, as v1 acked ``answer_done``."""
        assert self._recording is not None
        written = self._recording.written_end
        offset = written if message.offset is None else message.offset
        if offset > written:
            # The client sends a take message only after the audio up to its offset.
            return [error("bad_message", f"{message.kind}.offset {offset} is past the audio "
                                         f"received ({written})")]  # fmt: skip
        index, take = message.index, message.take
        ack = [] if message.kind == "answer_started" else await self._ack()

        def step(timeline: Timeline) -> list[dict[str, Any]]:
            # The limits the audio already passed come first: they happened before.
            events = timeline.reach(written)
            if message.kind == "answer_done" and take is None:
                return events + timeline.legacy_done(index, offset)
            assert index is not None and take is not None
            if message.kind == "answer_started":
                return events + timeline.start_take(index, take, offset)
            if message.kind == "answer_done":
                return events + timeline.end_take(index, take, offset)
            return events + timeline.keep_take(index, take, offset)

        return ack + await self._on_timeline(step)

    async def _on_timeline(
        self, step: Callable[[Timeline], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        assert self._format is not None and self._recording is not None
        async with self._sessionmaker() as session:
            interview = await self._interview(session)
            timeline = Timeline(interview, self._format.bytes_per_second, self._keeps_rules)
            try:
                events = step(timeline)
                # A question asked with no time to think starts its answer as it is asked.
                events += timeline.reach(self._recording.written_end)
            except TakeRefused as refused:  # nothing changed: say why, keep the connection
                await session.rollback()
                logger.info("take_refused", interview_id=str(self.interview_id),
                            reason=refused.message)  # fmt: skip
                return [error(refused.code, refused.message)]
            self._deadline = timeline.deadline()
            if events:
                await session.commit()
        for event in events:
            if event["type"] in ("answer_started", "answer_ended"):
                logger.info(event["type"], interview_id=str(self.interview_id),
                            **{k: v for k, v in event.items() if k != "type"})  # fmt: skip
        return events

    async def _ack(self) -> list[dict[str, Any]]:
        """Wait for everything received to be durable; the ack that says so, unless the
        connection's ack task already took it (then it is sent, or first in line to be)."""
        assert self._recording is not None
        end, position = self._recording.written_end, self._position
        self._ack_claimed = True
        try:
            await self._journal.wait_durable(position)
        except JournalFailed as failed:
            raise _storage_failure(failed) from failed
        finally:
            self._ack_claimed = False
            self._durable_changed.set()  # the ack task looks again
        self.on_durable(end)
        if self._acked >= end:
            return []
        self._acked = end
        return [{"type": "ack", "offset": end}]

    async def _interview(self, session: AsyncSession) -> Interview:
        interview = await interviews.get_with_questions(session, self.interview_id)
        if interview is None:  # deleted while streaming: nothing left to record against
            raise ProtocolViolation(
                CLOSE_POLICY, error("bad_message", "the interview is gone"), "deleted"
            )
        return interview

    async def end(self) -> list[dict[str, Any]]:
        # The final ack always precedes `completed`, even if it repeats the last one.
        ack = await self._ack() or [{"type": "ack", "offset": self._acked}]
        assert self._recording is not None and self._format is not None
        audio_bytes = self._acked
        digest = await self._recording.digest()  # kept as audio arrived: no file read
        # Transcripts and the review page read the file as soon as it is complete.
        await self._recording.sync()
        duration = audio_bytes / self._format.bytes_per_second
        async with self._sessionmaker() as session:
            interview = await self._interview(session)
            timeline = Timeline(interview, self._format.bytes_per_second, self._keeps_rules)
            timeline.reach(audio_bytes)  # limits the last audio passed, then the end
            timeline.finish(audio_bytes)
            self._deadline = None
            interview.status = InterviewStatus.COMPLETED
            interview.completed_at = datetime.now(UTC)
            interview.duration_seconds = duration
            interview.audio_bytes = audio_bytes
            interview.audio_sha256 = digest
            # Queued with the completion itself: no crash can leave an answer untranscribed.
            transcription_jobs.queue_answers(session, interview, audio_bytes)
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
        return [*ack, completed]

    async def close(self) -> None:
        """Make everything received durable (the next connection resumes from it) and close.
        The file itself is fsync'd, so no journal checkpoint needs it any more."""
        if self._recording is not None:
            self._journal.forget(self)
            await self._recording.sync()
            self._recording.close()
            self._recording = None
