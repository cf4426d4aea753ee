"""People: users of every role, failed sign-ins (for throttling), tokens refused before their
expiry (sign-out, a session ended), and the candidate sessions proctors launched at kiosks."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.app.models.base import Base, UtcDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The test center whose room a proctor watches (None: admins, candidates, unassigned).
    test_center_id: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LoginFailure(Base):
    __tablename__ = "login_failures"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # Where the attempt came from (the proxy's X-Forwarded-For only from a trusted proxy).
    client_address: Mapped[str | None] = mapped_column(String(45), index=True, default=None)


class RevokedToken(Base):
    """A token that is refused although it has not expired: its id (``jti``), kept until the
    moment it would have expired anyway, then deleted (a deny-list that stays small)."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(32))


class LaunchedSession(Base):
    """A session token a proctor launched at a kiosk: what "end this seat's session" revokes.
    Kept until the token expires (a session token is never written down anywhere else)."""

    __tablename__ = "launched_sessions"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(100), index=True)  # as the launch request
    candidate_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    launched_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Resume(Base):
    __tablename__ = "resumes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    candidate_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(5000), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
