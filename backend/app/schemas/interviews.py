from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from backend.app.models.enums import (
    Accommodation,
    Difficulty,
    InterviewStatus,
    TakeEnd,
    TakeStart,
)
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


class TakeRead(ResponseModel):
    """One take of an answer, placed in the interview's recording (seconds from its start)."""

    take: int = Field(description="1, 2 or 3, in the order the candidate recorded them")
    start_seconds: float
    end_seconds: float | None = Field(description="null while the take is still running")
    seconds: float | None = Field(description="How long the take ran; null while it runs")
    started_by: TakeStart = Field(
        description="candidate: they chose to answer (or try again); limit: thinking time ran out"
    )
    end_reason: TakeEnd | None = Field(
        description="candidate: they ended it; limit: the answer time ran out; null: running"
    )
    kept: bool = Field(description="The take reviewers get as the answer")


class QuestionRead(ResponseModel):
    index: int
    total: int
    text: str
    difficulty: Difficulty
    skills: list[str]
    # The rules the question was planned with, before any accommodation.
    think_seconds: int | None = Field(
        description="Time to think before answering; 0: at once; null: unlimited"
    )
    answer_seconds: int = Field(description="The longest an answer may run")
    takes: int = Field(description="How many takes the candidate may record")
    # Where the question and its kept answer lie in the recording, once the stream reached them.
    asked_seconds: float | None = None
    answer_start_seconds: float | None = None
    answer_end_seconds: float | None = None
    kept_take: int | None = None
    answer_takes: list[TakeRead] = Field(default_factory=list)


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
    accommodation: Accommodation | None = Field(
        description="Extra time the proctor granted, on every think and answer limit"
    )
    accommodation_granted_by: uuid.UUID | None = Field(description="The proctor who granted it")


class PreflightRequest(RequestModel):
    """The kiosk's microphone check, kept with the interview for reviewers."""

    noise_floor_dbfs: float = Field(ge=-200, le=0)
    speech_level_dbfs: float = Field(ge=-200, le=0)
    clipped_fraction: float = Field(ge=0, le=1)
    fit: bool
    verdict: str = Field(max_length=300)
    device: str | None = Field(default=None, max_length=200)
    practice_used: bool = Field(
        default=False,
        description="The candidate answered the practice question and heard it played back "
        "(that answer is never recorded or sent)",
    )
    practice_seconds: float = Field(
        default=0, ge=0, le=60, description="How long the practice answer ran"
    )


class InterviewDetail(InterviewRead):
    questions: list[QuestionRead]
    preflight: PreflightRequest | None = None


class InterviewStartResponse(InterviewRead):
    """The interview's own fields at the top level, with its first question and the WebSocket
    URL to stream its audio to."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b7c4c3e-2f0a-4d3b-9a57-6f1f1b0c9e11",
                    "candidate_id": "5d0c2f8e-8a4b-4f7e-9b0e-3c1d2e4f5a6b",
                    "role_type": "typescript",
                    "status": "scheduled",
                    "job_posting_id": "7e9f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
                    "application_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "resume_id": None,
                    "kiosk_id": "leeds-07",
                    "proctor_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                    "planned_question_count": 5,
                    "created_at": "2025-01-06T09:30:00Z",
                    "started_at": None,
                    "completed_at": None,
                    "duration_seconds": None,
                    "accommodation": "x1.5",
                    "accommodation_granted_by": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                    "first_question": {
                        "index": 0,
                        "total": 5,
                        "text": "How long have you worked with TypeScript, and what kinds of "
                        "projects did you use it on?",
                        "difficulty": "warmup",
                        "skills": ["typescript", "communication"],
                        "think_seconds": 30,
                        "answer_seconds": 180,
                        "takes": 2,
                        "asked_seconds": None,
                        "answer_start_seconds": None,
                        "answer_end_seconds": None,
                        "kept_take": None,
                        "answer_takes": [],
                    },
                    "ws_url": "ws://127.0.0.1:8000/ws/interviews/0b7c4c3e-2f0a-4d3b-9a57-6f1f1b0c9e11",
                    "read_questions_aloud": True,
                }
            ]
        }
    )

    first_question: QuestionRead
    ws_url: str = Field(description="Where the kiosk streams the interview's audio (protocol v1)")
    # The posting's setting as the interview is planned; it is not stored with the interview,
    # so only this answer carries it (a resumed interview is read back without it).
    read_questions_aloud: bool = Field(
        description="Whether the kiosk reads each question aloud as well as showing it: the "
        "posting's setting when the interview was planned; true for a practice interview"
    )


class PlanningStatusResponse(ResponseModel):
    interview_id: uuid.UUID
    status: InterviewStatus
    planned_question_count: int
    message: str
    ws_url: str
