from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from backend.app.models.enums import Difficulty, InterviewStatus
from backend.app.schemas.base import RequestModel, ResponseModel


class InterviewStartRequest(RequestModel):
    """Start (or plan) an interview: for a job application, or standalone for a role type.

    When both are given, ``application_id`` wins and the role comes from the job posting.
    """

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"role_type": "python"},
                {"application_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
            ]
        },
    )

    role_type: str | None = Field(default=None, min_length=1, max_length=100)
    resume_id: uuid.UUID | None = None
    application_id: uuid.UUID | None = None


class QuestionRead(ResponseModel):
    index: int
    total: int
    text: str
    difficulty: Difficulty
    skills: list[str]
    # Where the answer lies in the recording, once the stream has reached it.
    answer_start_seconds: float | None = None
    answer_end_seconds: float | None = None


class InterviewRead(ResponseModel):
    id: uuid.UUID
    candidate_id: uuid.UUID
    role_type: str
    status: InterviewStatus
    job_posting_id: uuid.UUID | None
    application_id: uuid.UUID | None
    resume_id: uuid.UUID | None
    kiosk_id: str | None
    proctor_id: uuid.UUID | None
    planned_question_count: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    duration_seconds: float | None


class PreflightRequest(RequestModel):
    """The kiosk's microphone check, kept with the interview for reviewers."""

    noise_floor_dbfs: float = Field(ge=-200, le=0)
    speech_level_dbfs: float = Field(ge=-200, le=0)
    clipped_fraction: float = Field(ge=0, le=1)
    fit: bool
    verdict: str = Field(max_length=300)
    device: str | None = Field(default=None, max_length=200)


class InterviewDetail(InterviewRead):
    questions: list[QuestionRead]
    preflight: PreflightRequest | None = None


class InterviewStartResponse(ResponseModel):
    interview: InterviewRead
    first_question: QuestionRead
    ws_url: str


class PlanningStatusResponse(ResponseModel):
    interview_id: uuid.UUID
    status: InterviewStatus
    planned_question_count: int
    message: str
    ws_url: str
