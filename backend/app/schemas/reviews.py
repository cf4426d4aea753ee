"""The hiring team's side: reviewers of a posting, and transcripts of the kept answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from backend.app.models.enums import Recommendation, ReviewStatus, TranscriptState
from backend.app.schemas.base import RequestModel, ResponseModel


class ReviewerRead(ResponseModel):
    id: uuid.UUID
    email: str
    full_name: str


class PostingReviewersUpdate(RequestModel):
    reviewer_ids: list[uuid.UUID] = Field(
        max_length=200, description="Every reviewer of the posting (replaces the list)"
    )


class TranscriptWord(ResponseModel):
    word: str
    start: float = Field(description="Seconds from the start of the kept answer")
    end: float


class AnswerTranscript(ResponseModel):
    question_index: int
    state: TranscriptState
    attempts: int
    error: str | None = Field(description="Why the last attempt failed, if it did")
    text: str | None
    words: list[TranscriptWord]
    language: str | None
    model: str | None
    audio_seconds: float | None
    work_seconds: float | None = Field(description="Time spent transcribing (real-time factor)")
    queued_at: datetime
    finished_at: datetime | None


class InterviewTranscripts(ResponseModel):
    transcription: Literal["on", "off"] = Field(
        description="off: this server has no speech-to-text (answers stay queued until it has)"
    )
    model: str | None
    answers: list[AnswerTranscript]


class RatingIn(RequestModel):
    question_index: int = Field(ge=0, le=99)
    rating: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: str = Field(default="", max_length=2000)


class ReviewUpdate(RequestModel):
    """The caller's review, whole: a draft, or submitted with ``submit`` (which needs every
    answered question rated and a recommendation)."""

    ratings: list[RatingIn] = Field(default_factory=list, max_length=100)
    recommendation: Recommendation | None = None
    notes: str = Field(default="", max_length=5000)
    submit: bool = False


class RatingRead(ResponseModel):
    question_index: int
    rating: int
    comment: str


class ReviewRead(ResponseModel):
    reviewer_id: uuid.UUID
    reviewer_name: str
    recommendation: Recommendation | None
    notes: str
    submitted_at: datetime | None
    updated_at: datetime
    ratings: list[RatingRead]


class InterviewReviews(ResponseModel):
    mine: ReviewRead | None
    others_hidden: bool = Field(
        description="True until the caller has submitted their own review (blind scoring)"
    )
    others: list[ReviewRead] = Field(description="Other reviewers' submitted reviews")
    average_by_question: dict[int, float] = Field(
        description="Mean of the submitted ratings per question (empty while hidden)"
    )


class ReviewQueueRow(ResponseModel):
    interview_id: uuid.UUID
    candidate_name: str
    job_posting_id: uuid.UUID
    posting_title: str
    completed_at: datetime | None
    duration_seconds: float | None
    status: ReviewStatus
    my_review: Literal["none", "draft", "submitted"]
    average_rating: float | None = Field(description="Hidden (null) until you have submitted")
    flags: list[str] = Field(
        description="What a reviewer should know first: incidents, a failed microphone check, "
        "a failed transcript"
    )


class ReviewActivity(ResponseModel):
    at: datetime
    action: Literal[
        "answer_played", "review_saved", "review_submitted",
        "share_link_created", "share_link_revoked", "share_link_opened",
    ]  # fmt: skip
    actor_id: uuid.UUID | None
    actor_name: str | None
    actor_email: str | None
    details: dict[str, object] = Field(
        description="answer_played: question_index (and share_link when through one); a "
        "review: its ratings and recommendation; a share link: its id"
    )


class CandidateDeletion(ResponseModel):
    interviews_deleted: int
    files_deleted: int = Field(description="Recordings and questions read aloud removed from disk")


class ShareLinkCreate(RequestModel):
    days: int = Field(default=7, ge=1, le=30, description="Days until the link expires")


class ShareLinkRead(ResponseModel):
    id: uuid.UUID
    interview_id: uuid.UUID
    created_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class ShareLinkCreated(ShareLinkRead):
    url: str = Field(description="The link to send (shown this once: only its hash is kept)")
