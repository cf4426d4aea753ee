"""Incident reports: filed by a proctor about a seat (and the interview on it at that
moment), listed per interview for reviewers, exported per day and test center as CSV."""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import Forbidden
from backend.app.models import Incident, User
from backend.app.repositories import audit
from backend.app.schemas.incidents import IncidentCreate, IncidentRead
from backend.app.services import messages
from backend.app.services.auth import Principal
from backend.app.services.console import Room, interview_on_seat, seat_in
from backend.app.services.interviews import get_for
from backend.app.services.room.hub import RoomHub
from backend.app.services.spreadsheet import safe_cell

# Crockford's base32 without I, L, O, U: read aloud over a room without confusion.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CSV_COLUMNS = ["reference", "reported_at", "test_center", "seat", "interview_id", "category",
               "note", "reported_by"]  # fmt: skip


def _reference() -> str:
    return "INC-" + "".join(secrets.choice(_ALPHABET) for _ in range(5))


async def report(
    session: AsyncSession, hub: RoomHub, room: Room, body: IncidentCreate
) -> IncidentRead:
    """File an incident about a seat of the room; the interview on it now goes with it."""
    seat = seat_in(hub, room, body.kiosk_id)
    on_seat = await interview_on_seat(session, seat)
    interview = str(on_seat.id) if on_seat is not None else None
    for _attempt in range(5):  # 32^5 references: a clash is rare, and retried
        incident = Incident(
            reference=_reference(), test_center_id=room.id, kiosk_id=seat.kiosk_id,
            interview_id=on_seat.id if on_seat is not None else None,
            category=body.category.value, note=body.note.strip(),
            reported_by=room.viewer.id, reported_at=datetime.now(UTC),
        )  # fmt: skip
        session.add(incident)
        try:
            await session.flush()
            break
        except IntegrityError:
            await session.rollback()
    audit.record(
        session, room.viewer.id, "incident_reported", "kiosk", seat.kiosk_id,
        test_center=room.id, interview_id=interview, reference=incident.reference,
        category=incident.category,
    )  # fmt: skip
    await session.commit()
    return IncidentRead.model_validate(incident)


async def of_interview(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID
) -> list[IncidentRead]:
    """An interview's incidents, oldest first: for admins, and for proctors those of their
    own test center (never the candidate: the notes are the proctors')."""
    if not principal.is_staff:
        raise Forbidden(messages.STAFF_ONLY)
    await get_for(session, principal, interview_id)  # 404 for an unknown interview
    statement = select(Incident).where(Incident.interview_id == interview_id)
    if not principal.is_admin:
        statement = statement.where(Incident.test_center_id == principal.user.test_center_id)
    rows = await session.scalars(statement.order_by(Incident.reported_at))
    return [IncidentRead.model_validate(row) for row in rows]


async def day_csv(session: AsyncSession, room: Room, day: date) -> str:
    """The room's incidents of one (UTC) day as CSV, one row each, oldest first."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    rows = await session.execute(
        select(Incident, User.full_name)
        .join(User, User.id == Incident.reported_by, isouter=True)
        .where(Incident.test_center_id == room.id, Incident.reported_at >= start,
               Incident.reported_at < start + timedelta(days=1))
        .order_by(Incident.reported_at)
    )  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for incident, reporter in rows.all():
        writer.writerow([
            incident.reference, incident.reported_at.isoformat(), incident.test_center_id,
            incident.kiosk_id, incident.interview_id or "", incident.category,
            safe_cell(incident.note), reporter or "",
        ])  # fmt: skip
    return out.getvalue()
