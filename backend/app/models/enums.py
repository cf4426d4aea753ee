"""Closed sets of values, stored as short strings (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CANDIDATE = "candidate"
    PROCTOR = "proctor"
    ADMIN = "admin"


class PostingStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class ApplicationStatus(StrEnum):
    APPLIED = "applied"
    INTERVIEWING = "interviewing"
    INTERVIEWED = "interviewed"
    WITHDRAWN = "withdrawn"


class InterviewStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class Difficulty(StrEnum):
    WARMUP = "warmup"
    STANDARD = "standard"
    ADVANCED = "advanced"
