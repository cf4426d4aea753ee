"""The hiring team's side: reviewers of a posting, and transcripts of the kept answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from backend.app.models.enums import TranscriptState
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
