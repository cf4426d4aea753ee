"""The proctor's room console: who may watch which room, and what a proctor does to a seat.

Every rule is here, not in the routes: the web page and the JSON actions call the same
functions, and each action is audited with who, what, which seat and interview.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import BadRequest, Conflict, Forbidden, NotFound
from backend.app.models import Interview, TestCenter
from backend.app.models.enums import Accommodation, InterviewStatus, Role
from backend.app.repositories import audit
from backend.app.services import auth, kiosks, messages
from backend.app.services.auth import Principal
from backend.app.services.room.hub import (
    END_TIMEOUT_SECONDS,
    RoomHub,
    SeatNotConnected,
    SeatRefused,
)
from backend.app.services.room.seats import Alert, Seat
from backend.app.services.streaming.registry import StreamRegistry

logger = structlog.get_logger(__name__)

MAX_REASON = 200
OPEN_STATUSES = (InterviewStatus.SCHEDULED.value, InterviewStatus.IN_PROGRESS.value)
MAX_MESSAGE = 200


@dataclass(frozen=True)
class Room:
    test_center: TestCenter
    viewer: Principal

    @property
    def id(self) -> str:
        return self.test_center.id


async def open_room(session: AsyncSession, principal: Principal, center: str | None) -> Room:
    """The room ``principal`` may watch: a proctor's own test center; for an admin the one
    asked for, else the first.

    Raises:
        Forbidden: not staff (candidates, session tokens), a proctor with no test center,
            or a proctor asking for another test center's room.
        NotFound: the test center does not exist (or none does yet).
    """
    if not principal.is_staff:
        raise Forbidden(messages.CONSOLE_STAFF_ONLY)
    if principal.role is Role.PROCTOR:
        own = principal.user.test_center_id
        if own is None:
            raise Forbidden(messages.NO_TEST_CENTER)
        if center is not None and center != own:
            raise Forbidden(messages.OTHER_TEST_CENTER)
        center = own
    if center is None:
        found = await session.scalar(select(TestCenter).order_by(TestCenter.id).limit(1))
        if found is None:
            raise NotFound(messages.NO_TEST_CENTERS)
        return Room(found, principal)
    test_center = await session.get(TestCenter, center)
    if test_center is None:
        raise NotFound(messages.test_center_not_found(center))
    return Room(test_center, principal)


async def seats_enrolled(session: AsyncSession, hub: RoomHub, room: Room) -> None:
    """Every kiosk enrolled in the room has a row, connected or not (enrolled since the
    backend started, too)."""
    hub.known(await kiosks.enrolled(session, room.id))


def seat_in(hub: RoomHub, room: Room, kiosk_id: str) -> Seat:
    seat = hub.find(kiosk_id)
    if seat is None:
        raise NotFound(messages.seat_not_found(kiosk_id))
    if seat.test_center_id != room.id:
        raise Forbidden(messages.OTHER_TEST_CENTER)
    return seat


def _interview(seat: Seat) -> str | None:
    return seat.report.interview_id if seat.report is not None else None


def _clean(text: str, limit: int, what: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise BadRequest(f"Give a {what}.")
    return text[:limit]


async def _audited(
    session: AsyncSession, room: Room, seat: Seat, action: str, **details: object
) -> None:
    # The interview the seat reports now, unless the caller knows better (taken before a
    # command that ends it, or checked against the database).
    details = {"test_center": room.id, "interview_id": _interview(seat), **details}
    audit.record(session, room.viewer.id, action, "kiosk", seat.kiosk_id, **details)
    await session.commit()


async def pause_seat(
    session: AsyncSession, hub: RoomHub, room: Room, kiosk_id: str, reason: str
) -> str:
    """Pause the seat's session (its timers stop; docs/protocol.md, "pause")."""
    seat = seat_in(hub, room, kiosk_id)
    reason = _clean(reason, MAX_REASON, "reason")
    command_id = await hub.command(seat, "pause", reason=reason)
    await _audited(session, room, seat, "seat_paused", reason=reason, command_id=command_id)
    return command_id


async def resume_seat(session: AsyncSession, hub: RoomHub, room: Room, kiosk_id: str) -> str:
    seat = seat_in(hub, room, kiosk_id)
    command_id = await hub.command(seat, "resume")
    await _audited(session, room, seat, "seat_resumed", command_id=command_id)
    return command_id


async def end_seat(
    session: AsyncSession, hub: RoomHub, streams: StreamRegistry, room: Room, kiosk_id: str
) -> str:
    """End the seat's session: the interview is completed with what was recorded, the kiosk
    locks (as a proctor ending it at the paused screen).

    Once the seat says it is done (it completes the interview with its session token), every
    session token launched at the seat until then is revoked and any stream one opened is
    closed, so whoever holds a copy cannot go on. A seat that refuses or does not answer
    keeps its session: the proctor is told, and may try again.
    """
    seat = seat_in(hub, room, kiosk_id)
    interview = _interview(seat)
    asked_at = datetime.now(UTC)
    command_id = await hub.command(seat, "end", patience=END_TIMEOUT_SECONDS)
    revoked = await auth.end_sessions_at(session, streams, kiosk_id, asked_at, "seat_ended")
    await _audited(session, room, seat, "seat_session_ended", interview_id=interview,
                   command_id=command_id, tokens_revoked=revoked)  # fmt: skip
    return command_id


async def interview_on_seat(session: AsyncSession, seat: Seat) -> Interview | None:
    """The interview the seat reports, if it really is this seat's: launched at this kiosk.
    A report is the kiosk's word; the database has the last say."""
    reported = _interview(seat)
    if reported is None:
        return None
    try:
        interview = await session.get(Interview, uuid.UUID(reported))
    except ValueError:
        return None
    return interview if interview is not None and interview.kiosk_id == seat.kiosk_id else None


def _factor(accommodation: str | None) -> float:
    """How much time an accommodation gives (no limit at all: the most)."""
    if accommodation is None:
        return 1.0
    multiplier = Accommodation(accommodation).multiplier
    return float("inf") if multiplier is None else multiplier


async def grant_extra_time(
    session: AsyncSession, hub: RoomHub, room: Room, kiosk_id: str, extra: Accommodation
) -> uuid.UUID:
    """Extra time for the interview on this seat, as if granted at launch; it replaces any
    earlier grant, and who granted it is recorded with the interview.

    It only ever grows: the server applies it to the question under way too, while the
    seat's countdown keeps the limits it was given until the next question (or a
    reconnect), so a grant that shortened them could end an answer the screen still shows
    time for.

    Raises:
        Conflict: no interview of this seat is under way, or the grant would shorten.
    """
    seat = seat_in(hub, room, kiosk_id)
    interview = await interview_on_seat(session, seat)
    if interview is None or interview.status not in OPEN_STATUSES:
        raise Conflict(messages.no_interview_at(kiosk_id))
    previous = interview.accommodation
    if _factor(extra.value) < _factor(previous):
        raise Conflict(messages.extra_time_shrinks(extra.value, str(previous)))
    interview.accommodation = extra.value
    interview.accommodation_granted_by = room.viewer.id
    await _audited(session, room, seat, "extra_time_granted", interview_id=str(interview.id),
                   accommodation=extra.value, previous=previous)  # fmt: skip
    return interview.id


async def lock_seat(session: AsyncSession, hub: RoomHub, room: Room, kiosk_id: str) -> str:
    """Lock a seat left without a candidate session (refused by the seat while one runs)."""
    seat = seat_in(hub, room, kiosk_id)
    command_id = await hub.command(seat, "lock")
    await _audited(session, room, seat, "seat_locked", command_id=command_id)
    return command_id


async def message_seat(
    session: AsyncSession, hub: RoomHub, room: Room, kiosk_id: str, text: str
) -> str:
    seat = seat_in(hub, room, kiosk_id)
    text = _clean(text, MAX_MESSAGE, "message")
    command_id = await hub.command(seat, "message", text=text)
    await _audited(session, room, seat, "seat_messaged", text=text, command_id=command_id)
    return command_id


@dataclass(frozen=True)
class RoomPause:
    paused: list[str]
    not_paused: dict[str, str]  # seat -> why


async def pause_room(session: AsyncSession, hub: RoomHub, room: Room, reason: str) -> RoomPause:
    """Pause every seat with a session in the room, all at once, with one reason."""
    reason = _clean(reason, MAX_REASON, "reason")
    live = [
        seat for seat in hub.seats_of(room.id)
        if seat.connected and seat.report is not None
        and seat.report.state in ("launching", "checking", "thinking", "answering")
    ]  # fmt: skip
    results = await asyncio.gather(
        *(hub.command(seat, "pause", reason=reason) for seat in live), return_exceptions=True
    )
    paused: list[str] = []
    not_paused: dict[str, str] = {}
    for seat, result in zip(live, results, strict=True):
        if isinstance(result, SeatNotConnected | SeatRefused):
            not_paused[seat.kiosk_id] = result.detail
        elif isinstance(result, BaseException):
            raise result
        else:
            paused.append(seat.kiosk_id)
            audit.record(
                session, room.viewer.id, "seat_paused", "kiosk", seat.kiosk_id,
                test_center=room.id, interview_id=_interview(seat), reason=reason,
                command_id=result, room=True,
            )  # fmt: skip
    await session.commit()
    return RoomPause(sorted(paused), not_paused)


async def acknowledge_alert(
    session: AsyncSession, hub: RoomHub, room: Room, alert_id: str
) -> Alert:
    """The proctor has seen the alert: cleared on every console, and the seat told (it
    shows "The proctor is on the way"). The seat being unreachable does not undo it."""
    for seat in hub.seats_of(room.id):
        alert = seat.alerts.get(alert_id)
        if alert is not None and alert.acknowledged_at is None:
            break
    else:
        raise NotFound(messages.alert_not_found(alert_id))
    hub.acknowledge_alert(seat, alert, room.viewer.user.full_name)
    await _audited(session, room, seat, "alert_acknowledged", alert_id=alert_id, kind=alert.kind)
    try:
        await hub.command(seat, "ack_alert", alert_id=alert_id)
    except (SeatNotConnected, SeatRefused) as exc:
        # It stays acknowledged here; the kiosk drops it when it next hears, or on lock.
        logger.info("alert_ack_not_delivered", kiosk_id=seat.kiosk_id, error=exc.detail)
    return alert


async def alerts_raised(session: AsyncSession, seat: Seat, alerts: list[Alert]) -> None:
    for alert in alerts:
        audit.record(
            session, None, "alert_raised", "kiosk", seat.kiosk_id,
            test_center=seat.test_center_id, interview_id=_interview(seat),
            alert_id=alert.id, kind=alert.kind,
        )  # fmt: skip
    await session.commit()
