"""Job postings and the candidates' applications to them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from backend.app.models.base import Base, UtcDateTime, utcnow

if TYPE_CHECKING:
    from backend.app.models.accounts import User
    from backend.app.models.interviews import Interview


def tech_stack_list(technologies: str | Iterable[str] | None) -> list[str]:
    """A posting's technologies as a list: one named as a string is a list of one, none is empty."""
    if technologies is None:
        return []
    if isinstance(technologies, str):
        return [technologies]
    return list(technologies)


class JobPosting(Base):
    __tablename__ = "job_postings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    role_category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    tech_stack: Mapped[list[str]] = mapped_column(JSON, default=list)
    required_skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    experience_level: Mapped[str | None] = mapped_column(String(50), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    # Interview rules (issue 14): seconds to think (None: unlimited, 0: answer at once),
    # seconds per answer, takes per question; overrides by planned question index.
    think_seconds: Mapped[int | None] = mapped_column(
        Integer().evaluates_none(), nullable=True, default=30
    )
    answer_seconds: Mapped[int] = mapped_column(Integer, default=180, server_default="180")
    takes: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    question_rules: Mapped[list[dict[str, object]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # Issue 15: the kiosk reads each question aloud as well as showing it, unless the posting
    # turns that off; postings made before the setting read aloud too (the server default).
    read_questions_aloud: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Issue 17: days a decided interview's audio and transcripts are kept (then deleted).
    retention_days: Mapped[int] = mapped_column(Integer, default=180, server_default="180")
    # Planned question indexes left out of share links; each question's rubric for reviewers.
    private_questions: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    question_rubrics: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @validates("tech_stack")
    def _tech_stack_as_list(self, _key: str, technologies: str | list[str] | None) -> list[str]:
        # Every writer (the API, the demo seed, the CLI) stores a list: a bare string would
        # otherwise be read back character by character by the role mapping.
        return tech_stack_list(technologies)


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("candidate_id", "job_posting_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    candidate_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    job_posting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("job_postings.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="applied")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    job_posting: Mapped[JobPosting] = relationship(lazy="raise")
    candidate: Mapped[User] = relationship(lazy="raise")
    # The newest interview taken for this application (its "linked interview").
    interviews: Mapped[list[Interview]] = relationship(
        lazy="raise", order_by="Interview.created_at.desc()", viewonly=True
    )
