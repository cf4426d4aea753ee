from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from backend.app.models.enums import ApplicationStatus, InterviewStatus, PostingStatus
from backend.app.schemas.base import RequestModel, ResponseModel

Tag = Annotated[str, Field(min_length=1, max_length=50)]


class JobPostingCreate(RequestModel):
    title: str = Field(min_length=1, max_length=200)
    company: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    role_category: str | None = Field(default=None, max_length=100)
    tech_stack: list[Tag] = Field(default_factory=list, max_length=30)
    required_skills: list[Tag] = Field(default_factory=list, max_length=30)
    experience_level: str | None = Field(default=None, max_length=50)
    status: PostingStatus = PostingStatus.ACTIVE


class JobPostingUpdate(RequestModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    company: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    role_category: str | None = Field(default=None, max_length=100)
    tech_stack: list[Tag] | None = Field(default=None, max_length=30)
    required_skills: list[Tag] | None = Field(default=None, max_length=30)
    experience_level: str | None = Field(default=None, max_length=50)
    status: PostingStatus | None = None


class JobPostingRead(ResponseModel):
    id: uuid.UUID
    title: str
    company: str
    description: str
    role_category: str | None
    tech_stack: list[str]
    required_skills: list[str]
    experience_level: str | None
    status: PostingStatus
    created_at: datetime


class ApplicationCreate(RequestModel):
    job_posting_id: uuid.UUID


class ApplicationRead(ResponseModel):
    id: uuid.UUID
    candidate_id: uuid.UUID
    status: ApplicationStatus
    created_at: datetime
    job_posting_id: uuid.UUID
    job_title: str
    company: str
    tech_stack: list[str]
    role_category: str | None
    posting_status: PostingStatus
    interview_id: uuid.UUID | None
    interview_status: InterviewStatus | None
