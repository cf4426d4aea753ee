from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from backend.app.models.enums import ApplicationStatus, InterviewStatus, PostingStatus
from backend.app.models.jobs import tech_stack_list
from backend.app.schemas.base import RequestModel, ResponseModel

Tag = Annotated[str, Field(min_length=1, max_length=50)]
Tags = Annotated[list[Tag], Field(max_length=30)]


def _one_or_many(value: object) -> object:
    """A posting names one technology as a string, or none as null: both become lists. Any
    other value is left for validation to accept or refuse."""
    if value is None or isinstance(value, str):
        return tech_stack_list(value)
    return value


# Accepted as "typescript", ["React", "TypeScript"] or null; always a list once read.
TechStack = Annotated[
    Tags,
    BeforeValidator(_one_or_many, json_schema_input_type=Tag | Tags | None),
    Field(
        description="One technology, a list of them, or null for none; always answered as a list",
        examples=["typescript", ["React", "TypeScript"], None],
    ),
]


class JobPostingCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"title": "Frontend Engineer", "company": "Fabrikam", "tech_stack": "typescript"},
                {
                    "title": "Platform Engineer",
                    "company": "Northwind Cloud",
                    "role_category": "DevOps",
                    "tech_stack": ["Kubernetes", "Terraform"],
                    "required_skills": ["kubernetes"],
                },
                # Without a tech stack (or with null: FastAPI drops nulls from examples).
                {"title": "Account Executive", "company": "Tailspin", "role_category": "Sales"},
            ]
        }
    )

    title: str = Field(min_length=1, max_length=200)
    company: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    role_category: str | None = Field(default=None, max_length=100)
    tech_stack: TechStack = Field(default_factory=list)
    required_skills: Tags = Field(default_factory=list)
    experience_level: str | None = Field(default=None, max_length=50)
    status: PostingStatus = PostingStatus.ACTIVE


class JobPostingUpdate(RequestModel):
    """Only the fields sent change. ``tech_stack: null`` clears the stack."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"tech_stack": "go"},
                {"tech_stack": ["Go", "Kubernetes"]},
                {"status": "closed"},
            ]
        }
    )

    title: str | None = Field(default=None, min_length=1, max_length=200)
    company: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    role_category: str | None = Field(default=None, max_length=100)
    # Omitted: unchanged (the service applies only the fields sent); null: cleared.
    tech_stack: TechStack = Field(default_factory=list)
    required_skills: Tags | None = None
    experience_level: str | None = Field(default=None, max_length=50)
    status: PostingStatus | None = None

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> JobPostingUpdate:
        # Omitting a field keeps it; null may only clear what a posting can be without.
        nulled = sorted(
            name for name in self.model_fields_set & _NOT_NULLABLE if getattr(self, name) is None
        )
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null (omit a field to keep it)")
        return self


_NOT_NULLABLE = frozenset({"title", "company", "description", "required_skills", "status"})


class JobPostingRead(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "title": "Frontend Engineer",
                    "company": "Fabrikam",
                    "description": "",
                    "role_category": None,
                    "tech_stack": ["typescript"],
                    "required_skills": [],
                    "experience_level": None,
                    "status": "active",
                    "created_at": "2025-01-06T09:30:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    title: str
    company: str
    description: str
    role_category: str | None
    tech_stack: list[str] = Field(description="The posting's technologies, possibly none")
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
