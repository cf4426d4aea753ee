"""The hiring team's side: who reviews which posting, and each kept answer's transcript."""

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


class PostingReviewer(Base):
    """A reviewer assigned to a posting sees its completed interviews (admins see all)."""

    __tablename__ = "posting_reviewers"

    job_posting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("job_postings.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Transcript(Base):
    """One kept answer's transcript, and the durable job that makes it.

    Queued in the transaction that completes the interview, so a crash can lose no job; a
    worker claims it with a lease it renews while it works, so a job whose backend died is
    taken up again once the lease runs out (by a restarted backend or another process).
    """

    __tablename__ = "transcripts"
    __table_args__ = (UniqueConstraint("question_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    interview_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("planned_questions.id", ondelete="CASCADE")
    )
    question_index: Mapped[int] = mapped_column(Integer)
    # The recording bytes transcribed: the kept take's span when the job was queued.
    start_offset: Mapped[int] = mapped_column(BigInteger)
    end_offset: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), index=True)  # enums.TranscriptState
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A queued job waits until then (a retry's back-off); a claimed one is held until then.
    not_before: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    # [[word, start, end], ...]: seconds from the start of the answer.
    words: Mapped[list[list[object]] | None] = mapped_column(JSON, nullable=True)
    # Seconds of audio and of work: the real-time factor, per answer.
    audio_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    work_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Review(Base):
    """One reviewer's ratings of one interview: a draft until submitted. Others' reviews stay
    hidden from a reviewer until their own is submitted (blind scoring)."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("interview_id", "reviewer_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    interview_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    recommendation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    ratings: Mapped[list[ReviewRating]] = relationship(
        lazy="raise", order_by="ReviewRating.question_index", cascade="all, delete-orphan"
    )


class ReviewRating(Base):
    """A 1-5 rating of one answer, with the reviewer's comment."""

    __tablename__ = "review_ratings"

    review_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True
    )
    question_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")


class ShareLink(Base):
    """Read-only access to one interview for someone without an account (a hiring manager),
    until it expires or is revoked. Only the token's SHA-256 is kept: the link is shown once."""

    __tablename__ = "share_links"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    interview_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
