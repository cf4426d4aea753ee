"""``/console``: the proctor's room console. Thin routes: the rules live in
``services.console``, the live state in the room hub, the look in the templates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.templating import Jinja2Templates

from backend.app.api.deps import SessionDep, SettingsDep
from backend.app.core.errors import DomainError, Forbidden, NotFound
from backend.app.schemas.console import (
    EmptyRequest,
    ExtraTimeRequest,
    MessageRequest,
    PauseRequest,
)
from backend.app.schemas.incidents import IncidentCreate, IncidentRead
from backend.app.services import console, incidents, messages
from backend.app.services.auth import Principal
from backend.app.services.room.hub import RoomHub
from backend.app.web import session as web_session
from backend.app.web.session import Caller, ChangingCaller

HERE = Path(__file__).parent
STATIC_URL = "/console/static"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/console", include_in_schema=False)
AREA = web_session.CONSOLE

# No inline script, no framing, no referrer leaving the test center's network.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _hub(request: Request) -> RoomHub:
    hub: RoomHub = request.app.state.room
    return hub


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    response = templates.TemplateResponse(
        request, name, {"static_url": STATIC_URL, **context}, status_code=status
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _sign_in_page(
    request: Request, error: str | None = None, email: str = "", status: int = 200
) -> Response:
    token, new = web_session.form_token(request)
    context = {"title": "Room console · sign in", "error": error, "email": email,
               "csrf_token": token}  # fmt: skip
    page = _page(request, "console/sign_in.html", context, status)
    if new:
        web_session.set_form_cookie(AREA, page, token, secure=request.url.scheme == "https")
    return page


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return await web_session.sign_in(
        AREA, request, session, settings, (email, password, csrf_token),
        partial(_sign_in_page, request),
    )  # fmt: skip


@router.post("/sign-out")
async def sign_out(
    request: Request, session: SessionDep, settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    return await web_session.sign_out(AREA, request, session, settings, csrf_token)


@router.get("", response_class=HTMLResponse)
async def room_page(
    request: Request, session: SessionDep, settings: SettingsDep, center: str | None = None
) -> Response:
    principal = await web_session.optional_principal(AREA, request, session, settings)
    if principal is None:
        return RedirectResponse("/console/sign-in", status_code=303)
    try:
        room = await console.open_room(session, principal, center)
    except DomainError as exc:
        return _sign_in_page(request, exc.detail, principal.user.email, exc.status_code)
    return _page(request, "console/room.html", {
        "title": f"Room console · {room.test_center.name}",
        "user_name": principal.user.full_name,
        "test_center_name": room.test_center.name,
        "csrf_token": web_session.csrf_token(settings, principal),
    })  # fmt: skip


async def _watched_room(
    request: Request, session: SessionDep, caller: Caller, center: str | None = None
) -> console.Room:
    # A dependency, so a refusal is an HTTP answer before the event stream begins.
    room = await console.open_room(session, caller.principal, center)
    await console.seats_enrolled(session, _hub(request), room)
    await session.close()  # a stream lasts hours: it must not hold a database connection
    return room


@router.get("/events", response_class=EventSourceResponse)
async def room_events(
    request: Request, room: Annotated[console.Room, Depends(_watched_room)]
) -> AsyncIterator[ServerSentEvent]:
    """The room as it changes: a snapshot first, then each seat and alert as it moves."""
    hub = _hub(request)
    with hub.listening(room.id) as queue:
        yield ServerSentEvent(data=hub.snapshot(room.id))
        while True:
            event = await queue.get()
            if event["type"] == "overflow":
                return  # the page reconnects and starts again from a snapshot
            yield ServerSentEvent(data=event)


async def _room_of_seat(
    request: Request, session: SessionDep, principal: Principal, kiosk_id: str
) -> console.Room:
    seat = _hub(request).find(kiosk_id)
    if seat is None:
        if not principal.is_staff:  # the caller's standing first: no hint of which seats exist
            raise Forbidden(messages.CONSOLE_STAFF_ONLY)
        raise NotFound(messages.seat_not_found(kiosk_id))
    return await console.open_room(session, principal, seat.test_center_id)


@router.post("/seats/{kiosk_id}/pause")
async def pause_seat(
    request: Request, session: SessionDep, caller: ChangingCaller, kiosk_id: str,
    body: PauseRequest,
) -> dict[str, str]:  # fmt: skip
    room = await _room_of_seat(request, session, caller.principal, kiosk_id)
    command = await console.pause_seat(session, _hub(request), room, kiosk_id, body.reason)
    return {"command_id": command, "kiosk_id": kiosk_id}


@router.post("/seats/{kiosk_id}/resume")
async def resume_seat(
    request: Request, session: SessionDep, caller: ChangingCaller, kiosk_id: str,
    body: EmptyRequest | None = None,
) -> dict[str, str]:  # fmt: skip
    room = await _room_of_seat(request, session, caller.principal, kiosk_id)
    command = await console.resume_seat(session, _hub(request), room, kiosk_id)
    return {"command_id": command, "kiosk_id": kiosk_id}


@router.post("/seats/{kiosk_id}/end")
async def end_seat(
    request: Request, session: SessionDep, caller: ChangingCaller, kiosk_id: str,
    body: EmptyRequest | None = None,
) -> dict[str, str]:  # fmt: skip
    room = await _room_of_seat(request, session, caller.principal, kiosk_id)
    command = await console.end_seat(
        session, _hub(request), request.app.state.streams, room, kiosk_id
    )
    return {"command_id": command, "kiosk_id": kiosk_id}


@router.post("/seats/{kiosk_id}/extra-time")
async def grant_extra_time(
    request: Request, session: SessionDep, caller: ChangingCaller, kiosk_id: str,
    body: ExtraTimeRequest,
) -> dict[str, str]:  # fmt: skip
    room = await _room_of_seat(request, session, caller.principal, kiosk_id)
    interview = await console.grant_extra_time(
        session, _hub(request), room, kiosk_id, body.accommodation
    )
    return {"interview_id": str(interview), "accommodation": body.accommodation.value}


@router.post("/seats/{kiosk_id}/lock")
async def lock_seat(
    request: Request, session: SessionDep, caller: ChangingCaller, kiosk_id: str,
    body: EmptyRequest | None = None,
) -> dict[str, str]:  # fmt: skip
    room = await _room_of_seat(request, session, caller.principal, kiosk_id)
    command = await console.lock_seat(session, _hub(request), room, kiosk_id)
    return {"command_id": command, "kiosk_id": kiosk_id}


@router.post("/seats/{kiosk_id}/message")
async def message_seat(
    request: Request, session: SessionDep, caller: ChangingCaller, kiosk_id: str,
    body: MessageRequest,
) -> dict[str, str]:  # fmt: skip
    room = await _room_of_seat(request, session, caller.principal, kiosk_id)
    command = await console.message_seat(session, _hub(request), room, kiosk_id, body.text)
    return {"command_id": command, "kiosk_id": kiosk_id}


@router.post("/room/pause")
async def pause_room(
    request: Request, session: SessionDep, caller: ChangingCaller, body: PauseRequest,
    center: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    room = await console.open_room(session, caller.principal, center)
    result = await console.pause_room(session, _hub(request), room, body.reason)
    return {"paused": result.paused, "not_paused": result.not_paused}


@router.post("/incidents")
async def report_incident(
    request: Request, session: SessionDep, caller: ChangingCaller, body: IncidentCreate
) -> IncidentRead:
    room = await _room_of_seat(request, session, caller.principal, body.kiosk_id)
    return await incidents.report(session, _hub(request), room, body)


@router.get("/incidents.csv")
async def incidents_csv(
    session: SessionDep, caller: Caller, day: date, center: str | None = None
) -> Response:
    """One day's incidents of the room (UTC), for the test center's records."""
    room = await console.open_room(session, caller.principal, center)
    body = await incidents.day_csv(session, room, day)
    filename = f"incidents-{room.id}-{day.isoformat()}.csv"
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
    })  # fmt: skip


@router.post("/alerts/{alert_id}/ack")
async def acknowledge_alert(
    request: Request, session: SessionDep, caller: ChangingCaller, alert_id: str,
    body: EmptyRequest | None = None,
) -> dict[str, str]:  # fmt: skip
    hub = _hub(request)
    seat = hub.seat_with_alert(alert_id)
    if seat is None:
        if not caller.principal.is_staff:
            raise Forbidden(messages.CONSOLE_STAFF_ONLY)
        raise NotFound(messages.alert_not_found(alert_id))
    room = await console.open_room(session, caller.principal, seat.test_center_id)
    alert = await console.acknowledge_alert(session, hub, room, alert_id)
    return {"alert_id": alert.id, "kiosk_id": alert.kiosk_id}
