"""Interviews and the questions planned for each."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.app.models.base import Base, UtcDateTime, utcnow


class Interview(Base):
    __tablename__ = "interviews"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    candidate_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    resume_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("resumes.id", ondelete="SET NULL"), nullable=True
    )
    job_posting_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("job_postings.id", ondelete="SET NULL"), nullable=True, index=True
    )
    application_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("applications.id", ondelete="SET NULL"), nullable=True, index=True
    )
    role_type: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    kiosk_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    proctor_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # The stream's audio format, fixed by the first hello (docs/protocol.md).
    audio_encoding: Mapped[str | None] = mapped_column(String(16), nullable=True)
    audio_sample_rate: Mapped[int | None] = mapped_column(Integer, nullable=True)
    audio_channels: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Set when the stream ends: the recording's length and digest.
    audio_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    audio_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The seat's microphone check before the interview (kiosk/core/mic_check.py).
    preflight: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    current_question_index: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Extra time granted by the proctor who launched the session (enums.Accommodation).
    accommodation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    accommodation_granted_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # When the retention job deleted its recording, speech and transcripts (issue 17).
    media_deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    questions: Mapped[list[PlannedQuestion]] = relationship(
        lazy="raise",
        order_by="PlannedQuestion.index",
        cascade="all, delete-orphan",
    )


class PlannedQuestion(Base):
    __tablename__ = "planned_questions"
    __table_args__ = (UniqueConstraint("interview_id", "index"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    interview_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int] = mapped_column(Integer)
    bank_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    difficulty: Mapped[str] = mapped_column(String(16))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The rules this question was planned with (the posting's, or its override for this
    # index), before any accommodation: think None is unlimited, 0 answers at once.
    think_seconds: Mapped[int | None] = mapped_column(
        Integer().evaluates_none(), nullable=True, default=30
    )
    answer_seconds: Mapped[int] = mapped_column(Integer, default=180, server_default="180")
    takes: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Byte offset in the recording where the question was asked (thinking started).
    asked_offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The kept take's span in the recording: the answer reviewers get.
    answer_start_offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    answer_end_offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    kept_take: Mapped[int | None] = mapped_column(Integer, nullable=True)

    answer_takes: Mapped[list[AnswerTake]] = relationship(
        lazy="raise", order_by="AnswerTake.take", cascade="all, delete-orphan"
    )


class AnswerTake(Base):
    """One take of an answer: where it starts and ends in the recording, and why."""

    __tablename__ = "answer_takes"
    __table_args__ = (UniqueConstraint("question_id", "take"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    question_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("planned_questions.id", ondelete="CASCADE"), index=True
    )
    take: Mapped[int] = mapped_column(Integer)  # 1, 2, 3
    start_offset: Mapped[int] = mapped_column(BigInteger)
    started_by: Mapped[str] = mapped_column(String(16))  # enums.TakeStart
    end_offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)  # enums.TakeEnd
