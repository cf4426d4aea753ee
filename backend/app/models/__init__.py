"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from backend.app.models.accounts import LoginFailure, Resume, User
from backend.app.models.audit import AuditEntry
from backend.app.models.base import Base
from backend.app.models.interviews import AnswerTake, Interview, PlannedQuestion
from backend.app.models.jobs import Application, JobPosting

__all__ = [
    "AnswerTake",
    "Application",
    "AuditEntry",
    "Base",
    "Interview",
    "JobPosting",
    "LoginFailure",
    "PlannedQuestion",
    "Resume",
    "User",
]
