"""The room console's backend: kiosk enrolment, the control channel, the console's live
events, its actions and who may use them (the browser itself: tests/test_room_console_browser.py).

Real: uvicorn on a free port, SQLite (and PostgreSQL in `make pytest-postgres`), the control
channel over a WebSocket, the console over HTTP with cookies or bearer tokens. The seat is
``SeatStub`` (tests/support/room.py): the control channel's other end, no kiosk code.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from backend.app.models.enums import Role
from backend.app.server import BackgroundServer
from support.api import Actor, Api, World, signed_in_page
from support.room import SeatStub, assign_center, enroll_kiosk, report


@pytest.fixture(scope="module")
def room(shared_api: Api, shared_world: World) -> dict[str, Any]:
    """Room "north" with seats n-1 and n-2 and its proctor; room "south" with its own."""
    settings = shared_api.server.settings
    north_proctor = shared_api.make_user(Role.PROCTOR, "Nora North")
    south_proctor = shared_api.make_user(Role.PROCTOR, "Sol South")
    credentials = {k: enroll_kiosk(settings, k, "north") for k in ("n-1", "n-2", "n-3")}
    credentials["s-1"] = enroll_kiosk(settings, "s-1", "south")
    assign_center(settings, north_proctor.id, "north")
    assign_center(settings, south_proctor.id, "south")
    return {"north": north_proctor, "south": south_proctor, "credentials": credentials}


@pytest.fixture
def seat(shared_api: Api, room: dict[str, Any]) -> Iterator[SeatStub]:
    stub = SeatStub(shared_api.server.ws_url, "n-1", room["credentials"]["n-1"])
    stub.send(report("answering", interview_id=str(uuid.uuid4())))
    _wait_for(lambda: _seat_json(shared_api, room["north"], "n-1")["state"] == "answering")
    yield stub
    stub.close()


def _wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _events(
    api: Api, who: Actor | str, count: int, until: Any = None, **params: str
) -> list[dict[str, Any]]:
    """The first ``count`` events of the console's stream (or up to the one ``until`` likes)."""
    token = who.token if isinstance(who, Actor) else who
    events: list[dict[str, Any]] = []
    with api.http.stream(
        "GET", "/console/events", params=params, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
                if until(events[-1]) if until else len(events) == count:
                    break
    return events


def _seat_json(api: Api, who: Actor, kiosk_id: str) -> dict[str, Any]:
    snapshot = _events(api, who, 1)[0]
    return next(s for s in snapshot["seats"] if s["kiosk_id"] == kiosk_id)


# --- enrolment and the control channel ------------------------------------------------------


def test_enroll_kiosk_prints_a_credential_that_opens_the_control_channel(tmp_path: Path) -> None:
    env = {**os.environ, "IK_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "backend", "enroll-kiosk", "--id", "seat-07",
         "--test-center", "leeds", "--test-center-name", "Leeds"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "seat-07 enrolled in test center leeds" in result.stdout
    credential = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"ikk_[A-Za-z0-9_-]{43}", credential)
    bad = subprocess.run(
        [sys.executable, "-m", "backend", "enroll-kiosk", "--id", "seat 07!", "--test-center", "x"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "kiosk id is 1 to 64 letters" in bad.stderr
    from backend.app.core.config import Settings

    with BackgroundServer(Settings(data_dir=tmp_path)) as server:
        stub = SeatStub(server.ws_url, "seat-07", credential)
        assert stub.welcome["type"] == "welcome"
        assert stub.welcome["test_center"] == "leeds"
        assert stub.welcome["report_seconds"] == 2.0
        stub.close()


@pytest.mark.parametrize("case", ["none", "forged", "another seat's", "not enrolled", "a user's"])
def test_control_channel_refuses_a_kiosk_that_is_not_who_it_says(
    shared_api: Api, shared_world: World, room: dict[str, Any], case: str
) -> None:
    kiosk_id, credential = (
        "n-1",
        {
            "none": None,
            "forged": "ikk_" + "A" * 43,
            "another seat's": room["credentials"]["n-2"],
            "not enrolled": room["credentials"]["n-1"],
            "a user's": shared_world.proctor.token,
        }[case],
    )
    if case == "not enrolled":
        kiosk_id = "ghost-seat"
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{shared_api.server.ws_url}/ws/kiosks/{kiosk_id}", additional_headers=headers,
                open_timeout=10)  # fmt: skip
    assert refused.value.response.status_code == 401
    assert b"not enrolled, or its credential is wrong" in refused.value.response.body


def test_a_malformed_report_closes_the_channel_with_the_reason(
    shared_api: Api, room: dict[str, Any]
) -> None:
    with connect(f"{shared_api.server.ws_url}/ws/kiosks/n-3", open_timeout=10,
                 additional_headers={"Authorization": f"Bearer {room['credentials']['n-3']}"}
                 ) as ws:  # fmt: skip
        ws.send(json.dumps({"type": "hello", "protocol": 1}))
        assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
        ws.send(json.dumps(report("dancing")))
        error = json.loads(ws.recv(timeout=5))
        assert error["type"] == "error"
        assert error["detail"].startswith("bad report: state:")
        with pytest.raises(Exception, match="1008"):
            ws.recv(timeout=5)


def test_a_kiosk_credential_is_refused_on_the_api(shared_api: Api, room: dict[str, Any]) -> None:
    response = shared_api.request("GET", "/api/v1/auth/me", room["credentials"]["n-1"])
    assert response.status_code == 403
    assert response.json() == {"detail": "Kiosk credentials are for the control channel only"}


# --- the console's live events ----------------------------------------------------------------


def test_a_report_reaches_the_console_of_its_room_only(
    shared_api: Api, room: dict[str, Any], seat: SeatStub
) -> None:
    north = _events(shared_api, room["north"], 1)[0]
    assert north["type"] == "room"
    seats = {s["kiosk_id"]: s for s in north["seats"]}
    assert set(seats) >= {"n-1", "n-2", "n-3"} and "s-1" not in seats
    assert seats["n-1"]["state"] == "answering"
    assert seats["n-1"]["candidate"] == "Casey Candidate"
    assert seats["n-2"]["state"] == "offline"  # enrolled, never connected
    south = _events(shared_api, room["south"], 1)[0]
    assert [s["kiosk_id"] for s in south["seats"]] == ["s-1"]


def test_each_report_is_pushed_as_it_arrives(
    shared_api: Api, room: dict[str, Any], seat: SeatStub
) -> None:
    import threading

    def paused(event: dict[str, Any]) -> bool:
        return event["type"] == "seat" and event["seat"]["state"] == "paused"

    got: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=lambda: got.extend(_events(shared_api, room["north"], 0, until=paused))
    )
    reader.start()
    time.sleep(0.3)  # the snapshot first
    seat.send(report("answering", unacked_seconds=7.5))
    seat.send(report("paused", pause_reason="Fire alarm"))
    reader.join(10)
    assert got[0]["type"] == "room"
    mine = [e["seat"] for e in got if e["type"] == "seat" and e["seat"]["kiosk_id"] == "n-1"]
    assert [s["state"] for s in mine] == ["answering", "paused"]
    assert mine[0]["unacked_seconds"] == 7.5
    assert mine[0]["attention"] is True  # more than 5 s not yet durable
    assert mine[1]["pause_reason"] == "Fire alarm"


def test_a_call_from_the_seat_is_an_alert_until_acknowledged(
    shared_api: Api, room: dict[str, Any], seat: SeatStub
) -> None:
    alert = {"id": uuid.uuid4().hex, "kind": "called", "raised_at": time.time() * 1000}
    seat.send(report("answering", alerts=[alert]))
    seat.send(report("answering", alerts=[alert]))  # re-reported: still one alert
    _wait_for(lambda: _seat_json(shared_api, room["north"], "n-1")["alerts"] == 1)
    snapshot = _events(shared_api, room["north"], 1)[0]
    assert [a["id"] for a in snapshot["alerts"]] == [alert["id"]]
    assert snapshot["alerts"][0]["text"] == "The candidate is calling the proctor"
    # Another room's proctor cannot clear it.
    path = f"/console/alerts/{alert['id']}/ack"
    assert shared_api.request("POST", path, room["south"]).status_code == 403
    response = shared_api.request("POST", path, room["north"])
    assert response.status_code == 200, response.text
    assert seat.commands[-1]["action"] == "ack_alert"
    assert seat.commands[-1]["alert_id"] == alert["id"]
    assert _events(shared_api, room["north"], 1)[0]["alerts"] == []
    assert shared_api.request("POST", path, room["north"]).status_code == 404  # already done
    # The seat did not hear it (it still reports the alert): it is told again.
    told = len(seat.commands)
    seat.send(report("answering", alerts=[alert]))
    _wait_for(lambda: len(seat.commands) > told)
    assert seat.commands[-1]["action"] == "ack_alert"
    assert seat.commands[-1]["alert_id"] == alert["id"]
    # An alert the seat stops reporting (its paused session went on) is over for the console.
    idle = {"id": uuid.uuid4().hex, "kind": "idle", "raised_at": time.time() * 1000}
    seat.send(report("paused", alerts=[idle]))
    _wait_for(lambda: _seat_json(shared_api, room["north"], "n-1")["alerts"] == 1)
    seat.send(report("answering"))
    _wait_for(lambda: _seat_json(shared_api, room["north"], "n-1")["alerts"] == 0)
    assert _events(shared_api, room["north"], 1)[0]["alerts"] == []


# --- actions ----------------------------------------------------------------------------------


def test_pause_reaches_the_seat_and_is_audited(
    shared_api: Api, room: dict[str, Any], seat: SeatStub
) -> None:
    response = shared_api.request(
        "POST", "/console/seats/n-1/pause", room["north"], json={"reason": "  Noise   in the room "}
    )
    assert response.status_code == 200, response.text
    command = seat.commands[-1]
    assert command["action"] == "pause" and command["reason"] == "Noise in the room"
    assert response.json()["command_id"] == command["id"]
    entries = _audit(shared_api, "seat_paused")
    assert any(
        e["details"]["command_id"] == command["id"] and e["subject_id"] == "n-1"
        and e["actor_id"] == str(room["north"].id) and e["details"]["test_center"] == "north"
        for e in entries
    )  # fmt: skip


def test_a_seat_that_refuses_is_reported_in_its_words(
    shared_api: Api, room: dict[str, Any]
) -> None:
    stub = SeatStub(shared_api.server.ws_url, "n-2", room["credentials"]["n-2"], ok=False)
    try:
        stub.send(report("locked"))
        response = shared_api.request("POST", "/console/seats/n-2/resume", room["north"])
        assert response.status_code == 409
        assert response.json() == {"detail": "n-2: There is no session at this seat."}
    finally:
        stub.close()


def test_a_seat_not_connected_is_a_conflict_not_a_wait(
    shared_api: Api, room: dict[str, Any]
) -> None:
    started = time.monotonic()
    response = shared_api.request(
        "POST", "/console/seats/n-3/message", room["north"], json={"text": "Hello"}
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "n-3 is not connected"}
    assert time.monotonic() - started < 2


def test_pause_all_reaches_every_seat_with_a_session(
    shared_api: Api, room: dict[str, Any], seat: SeatStub
) -> None:
    other = SeatStub(shared_api.server.ws_url, "n-2", room["credentials"]["n-2"])
    try:
        other.send(report("thinking"))
        _wait_for(lambda: _seat_json(shared_api, room["north"], "n-2")["state"] == "thinking")
        response = shared_api.request(
            "POST", "/console/room/pause", room["north"], json={"reason": "Fire alarm"}
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"paused": ["n-1", "n-2"], "not_paused": {}}
        for stub in (seat, other):
            assert stub.commands[-1]["action"] == "pause"
            assert stub.commands[-1]["reason"] == "Fire alarm"
    finally:
        other.close()


def _audit(api: Api, action: str) -> list[dict[str, Any]]:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from backend.app.core.db import create_engine, create_sessionmaker
    from backend.app.models import AuditEntry

    async def read() -> list[dict[str, Any]]:
        engine = create_engine(api.server.settings)
        try:
            async with create_sessionmaker(engine)() as session:
                rows = await session.scalars(select(AuditEntry).where(AuditEntry.action == action))
                return [{"actor_id": str(r.actor_id), "subject_id": r.subject_id,
                         "details": r.details} for r in rows]  # fmt: skip
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        return list(pool.submit(asyncio.run, read()).result())


# --- extra time ------------------------------------------------------------------------------


def _interview_at(api: Api, world: World, kiosk_id: str) -> str:
    """An interview the owner plans in a session a proctor launched at ``kiosk_id``."""
    launched = api.request(
        "POST", "/api/v1/proctor/sessions", world.proctor,
        json={"candidate_email": world.owner.email, "kiosk_id": kiosk_id},
    ).json()  # fmt: skip
    planned = api.request("POST", "/api/v1/interviews/plan", launched["session_token"],
                          json={"role_type": "go"})  # fmt: skip
    return str(planned.json()["interview_id"])


def test_a_seat_cannot_claim_another_seats_interview(
    shared_api: Api, shared_world: World, room: dict[str, Any]
) -> None:
    elsewhere = _interview_at(shared_api, shared_world, "s-1")  # launched at another seat
    stub = SeatStub(shared_api.server.ws_url, "n-3", room["credentials"]["n-3"])
    try:
        stub.send(report("answering", interview_id=elsewhere))
        _wait_for(lambda: _seat_json(shared_api, room["north"], "n-3")["interview_id"] == elsewhere)
        granted = shared_api.request("POST", "/console/seats/n-3/extra-time", room["north"],
                                     json={"accommodation": "x2"})  # fmt: skip
        assert granted.status_code == 409
        filed = shared_api.request("POST", "/console/incidents", room["north"],
                                   json={"kiosk_id": "n-3", "category": "other"})  # fmt: skip
        assert filed.status_code == 200 and filed.json()["interview_id"] is None
    finally:
        stub.close()
    record = shared_api.request("GET", f"/api/v1/interviews/{elsewhere}", shared_world.admin)
    assert record.json()["accommodation"] is None


def test_extra_time_is_granted_to_the_interview_on_the_seat(
    shared_api: Api, shared_world: World, room: dict[str, Any]
) -> None:
    interview = _interview_at(shared_api, shared_world, "n-3")
    stub = SeatStub(shared_api.server.ws_url, "n-3", room["credentials"]["n-3"])
    try:
        stub.send(report("locked"))
        _wait_for(lambda: _seat_json(shared_api, room["north"], "n-3")["state"] == "locked")
        none = shared_api.request("POST", "/console/seats/n-3/extra-time", room["north"],
                                  json={"accommodation": "x2"})  # fmt: skip
        assert none.status_code == 409
        assert none.json() == {"detail": "n-3 has no interview under way"}
        stub.send(report("thinking", interview_id=interview))
        _wait_for(lambda: _seat_json(shared_api, room["north"], "n-3")["interview_id"] == interview)
        granted = shared_api.request("POST", "/console/seats/n-3/extra-time", room["north"],
                                     json={"accommodation": "x1.5"})  # fmt: skip
        assert granted.status_code == 200, granted.text
        bad = shared_api.request("POST", "/console/seats/n-3/extra-time", room["north"],
                                 json={"accommodation": "x9"})  # fmt: skip
        assert bad.status_code == 422
        shorter = shared_api.request("POST", "/console/seats/n-3/extra-time", room["north"],
                                     json={"accommodation": "x1.25"})  # fmt: skip
        assert shorter.status_code == 409
        assert shorter.json() == {
            "detail": "x1.25 would shorten the x1.5 already granted: "
            "extra time can only grow during an interview"
        }
    finally:
        stub.close()
    record = shared_api.request("GET", f"/api/v1/interviews/{interview}", shared_world.admin)
    assert record.json()["accommodation"] == "x1.5"
    assert record.json()["accommodation_granted_by"] == str(room["north"].id)
    assert any(e["details"]["accommodation"] == "x1.5" and e["details"]["interview_id"] == interview
               for e in _audit(shared_api, "extra_time_granted"))  # fmt: skip


# --- incidents -------------------------------------------------------------------------------


def test_an_incident_is_filed_for_the_seat_and_its_interview_and_exported(
    shared_api: Api, shared_world: World, room: dict[str, Any]
) -> None:
    interview = _interview_at(shared_api, shared_world, "n-3")
    stub = SeatStub(shared_api.server.ws_url, "n-3", room["credentials"]["n-3"])
    try:
        stub.send(report("answering", interview_id=interview))
        _wait_for(lambda: _seat_json(shared_api, room["north"], "n-3")["interview_id"] == interview)
        filed = shared_api.request(
            "POST",
            "/console/incidents",
            room["north"],
            json={
                "kiosk_id": "n-3",
                "category": "late_arrival",
                "note": "=HYPERLINK(evil) arrived late",
            },
        )
    finally:
        stub.close()
    assert filed.status_code == 200, filed.text
    incident = filed.json()
    assert re.fullmatch(r"INC-[0-9A-HJKMNP-TV-Z]{5}", incident["reference"])
    assert incident["interview_id"] == interview and incident["test_center_id"] == "north"
    listed = shared_api.request("GET", f"/api/v1/interviews/{interview}/incidents",
                                shared_world.admin)  # fmt: skip
    assert [i["reference"] for i in listed.json()] == [incident["reference"]]
    assert listed.json()[0]["category"] == "late_arrival"
    path = f"/api/v1/interviews/{interview}/incidents"
    assert len(shared_api.request("GET", path, room["north"]).json()) == 1
    assert shared_api.request("GET", path, room["south"]).json() == []  # another room's notes
    day = incident["reported_at"][:10]
    exported = shared_api.request("GET", "/console/incidents.csv", room["north"],
                                  params={"day": day})  # fmt: skip
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert f"incidents-north-{day}.csv" in exported.headers["content-disposition"]
    rows = list(csv.reader(exported.text.splitlines()))
    assert rows[0][:3] == ["reference", "reported_at", "test_center"]
    mine = next(r for r in rows if r[0] == incident["reference"])
    assert mine[3:6] == ["n-3", interview, "late_arrival"]
    assert mine[6] == "'=HYPERLINK(evil) arrived late"  # text in a spreadsheet, not a formula
    assert mine[7] == "Nora North"
    south = shared_api.request("GET", "/console/incidents.csv", room["south"],
                               params={"day": day})  # fmt: skip
    assert incident["reference"] not in south.text  # per test center
    bad = shared_api.request("POST", "/console/incidents", room["north"],
                             json={"kiosk_id": "n-3", "category": "aliens"})  # fmt: skip
    assert bad.status_code == 422


# --- who may: the console's own authorization matrix -------------------------------------------

CONSOLE_CALLERS = ["anonymous", "candidate", "session token", "kiosk credential",
                   "other room's proctor", "proctor", "admin"]  # fmt: skip
# (method, path, body, status for the room's proctor and for an admin)
CONSOLE_ROUTES: list[tuple[str, str, Any, int]] = [
    ("GET", "/console/events", None, 200),
    ("POST", "/console/seats/n-1/pause", {"reason": "Matrix"}, 200),
    ("POST", "/console/seats/n-1/resume", None, 200),
    ("POST", "/console/seats/n-1/message", {"text": "Matrix"}, 200),
    ("POST", "/console/seats/n-1/end", None, 200),
    # The stand-in seat reports an interview id that does not exist: allowed callers get 409.
    ("POST", "/console/seats/n-1/extra-time", {"accommodation": "x1.5"}, 409),
    ("POST", "/console/seats/n-1/lock", None, 200),
    ("POST", "/console/room/pause", {"reason": "Matrix"}, 200),
    ("POST", "/console/incidents", {"kiosk_id": "n-1", "category": "noise", "note": "Matrix"}, 200),
    ("GET", "/console/incidents.csv", None, 200),
    # No such alert in any room: staff of every room learn only that (the other room's
    # proctor refused on a real alert: test_a_call_from_the_seat_is_an_alert_until_...).
    ("POST", "/console/alerts/no-such-alert/ack", None, 404),
]


@pytest.mark.parametrize("caller", CONSOLE_CALLERS)
@pytest.mark.parametrize(("method", "path", "body", "allowed"), CONSOLE_ROUTES,
                         ids=[f"{m} {p}" for m, p, _, _ in CONSOLE_ROUTES])  # fmt: skip
def test_console_route_answers_each_caller(
    shared_api: Api, shared_world: World, room: dict[str, Any], seat: SeatStub,
    method: str, path: str, body: Any, allowed: int, caller: str,
) -> None:  # fmt: skip
    launched = shared_api.request(
        "POST", "/api/v1/proctor/sessions", shared_world.proctor,
        json={"candidate_email": shared_world.owner.email, "kiosk_id": "n-1"},
    ).json()  # fmt: skip
    token = {
        "anonymous": None,
        "candidate": shared_world.owner.token,
        "session token": launched["session_token"],
        "kiosk credential": room["credentials"]["n-1"],
        "other room's proctor": room["south"].token,
        "proctor": room["north"].token,
        "admin": shared_world.admin.token,
    }[caller]
    expected = {"anonymous": 401, "proctor": allowed, "admin": allowed}.get(caller, 403)
    if caller == "other room's proctor" and allowed == 404:
        expected = 404
    if expected == 409 and caller not in ("proctor", "admin"):
        expected = 403
    # Room-wide routes name the room: a proctor asking for another room's is refused.
    params = {"center": "north"} if path in ("/console/events", "/console/room/pause",
                                             "/console/incidents.csv") else {}  # fmt: skip
    if path.endswith(".csv"):
        params["day"] = "2026-12-04"
    if path == "/console/events":
        with shared_api.http.stream("GET", path, params=params,
                                    headers=_bearer(token)) as response:  # fmt: skip
            assert response.status_code == expected
        return
    response = shared_api.request(method, path, token, json=body, params=params)
    assert response.status_code == expected, response.text


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def test_every_console_route_is_in_the_console_matrix() -> None:
    from fastapi.routing import APIRoute

    from backend.app.web.console import router

    routes = {
        (method, route.path) for route in router.routes if isinstance(route, APIRoute)
        for method in route.methods
    }  # fmt: skip
    pages = {
        ("GET", "/console"),
        ("GET", "/console/sign-in"),
        ("POST", "/console/sign-in"),
        ("POST", "/console/sign-out"),
    }  # fmt: skip (tested with cookies below)
    covered = {
        (m, p.replace("n-1", "{kiosk_id}").replace("no-such-alert", "{alert_id}"))
        for m, p, _, _ in CONSOLE_ROUTES
    }
    assert routes == covered | pages


# --- the page's sign-in: cookie and CSRF ------------------------------------------------------


def test_the_page_signs_in_with_a_cookie_and_every_change_needs_the_csrf_token(
    shared_api: Api, room: dict[str, Any], seat: SeatStub
) -> None:
    client = signed_in_page(shared_api, room["north"], "console")
    page = client.get("/console")
    assert page.status_code == 200
    assert "Nora North" in page.text and "North" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert csrf
    path = "/console/seats/n-1/message"
    without = client.post(path, json={"text": "Hi"})
    assert without.status_code == 403
    assert without.json() == {"detail": "The form has expired or was not sent from the console; "
                                        "reload the page"}  # fmt: skip
    wrong = client.post(path, json={"text": "Hi"}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    sent = client.post(path, json={"text": "Hi"}, headers={"X-CSRF-Token": csrf.group(1)})
    assert sent.status_code == 200, sent.text
    assert seat.commands[-1] == {**seat.commands[-1], "action": "message", "text": "Hi"}
    out = client.post("/console/sign-out", data={"csrf_token": csrf.group(1)})
    assert out.status_code == 303
    assert client.get("/console").headers.get("location") == "/console/sign-in"


def test_the_sign_in_form_refuses_a_post_without_its_token_and_candidates(
    shared_api: Api, shared_world: World
) -> None:
    client = httpx.Client(base_url=shared_api.url, timeout=30)
    forged = client.post("/console/sign-in", data={
        "email": shared_world.proctor.email, "password": shared_world.proctor.password,
        "csrf_token": "guessed"})  # fmt: skip
    assert forged.status_code == 403
    assert "ik_console" not in forged.headers.get("set-cookie", "")
    form = client.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    candidate = client.post("/console/sign-in", data={
        "email": shared_world.owner.email, "password": shared_world.owner.password,
        "csrf_token": token.group(1)})  # fmt: skip
    assert candidate.status_code == 403
    assert "Only proctors and admins can use the room console" in candidate.text
    wrong = client.post("/console/sign-in", data={
        "email": shared_world.proctor.email, "password": "not-the-password",
        "csrf_token": token.group(1)})  # fmt: skip
    assert wrong.status_code == 401
    assert "Incorrect email or password" in wrong.text
    unassigned = client.post("/console/sign-in", data={
        "email": shared_world.proctor.email, "password": shared_world.proctor.password,
        "csrf_token": token.group(1)})  # fmt: skip
    assert unassigned.status_code == 303
    page = client.get("/console")
    assert page.status_code == 403
    assert "not assigned to a test center" in page.text
