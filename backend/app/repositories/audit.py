"""Writing the audit log. Entries join the caller's transaction: no action without its record."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import AuditEntry


def record(
    session: AsyncSession,
    actor_id: uuid.UUID | None,
    action: str,
    subject_type: str | None = None,
    subject_id: uuid.UUID | str | None = None,
    **details: object,
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id) if subject_id is not None else None,
            details=details,
        )
    )
