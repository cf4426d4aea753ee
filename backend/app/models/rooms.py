"""Test centers, the kiosks enrolled in them, and the incidents their proctors report."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.app.models.base import Base, UtcDateTime, utcnow


class TestCenter(Base):
    __tablename__ = "test_centers"
    __test__ = False  # not a pytest class, whatever its name says

    # A short name IT chooses ("leeds"), used on the command line and in kiosk.toml.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Kiosk(Base):
    __tablename__ = "kiosks"

    # The seat's name, as in kiosk.toml's kiosk_id ("seat-07").
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    test_center_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("test_centers.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the credential: the credential is 256 random bits, so a fast hash is as
    # safe as argon2 here and costs nothing on every reconnect. Re-enrolling replaces it.
    credential_hash: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # What the proctor reads out and writes down: "INC-4F7Q2".
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    test_center_id: Mapped[str] = mapped_column(String(64), index=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    interview_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    category: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(2000), default="")
    reported_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
