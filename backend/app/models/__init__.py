"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from backend.app.models.accounts import (
    LaunchedSession,
    LoginFailure,
    Resume,
    RevokedToken,
    User,
)
from backend.app.models.audit import AuditEntry
from backend.app.models.base import Base
from backend.app.models.interviews import AnswerTake, Interview, PlannedQuestion
from backend.app.models.jobs import Application, JobPosting
from backend.app.models.reviews import (
    PostingReviewer,
    Review,
    ReviewRating,
    ShareLink,
    Transcript,
)
from backend.app.models.rooms import Incident, Kiosk, TestCenter

__all__ = [
    "AnswerTake",
    "Application",
    "AuditEntry",
    "Base",
    "Incident",
    "Interview",
    "JobPosting",
    "Kiosk",
    "LaunchedSession",
    "LoginFailure",
    "PlannedQuestion",
    "PostingReviewer",
    "Resume",
    "Review",
    "ReviewRating",
    "RevokedToken",
    "ShareLink",
    "TestCenter",
    "Transcript",
    "User",
]
