"""Tokens revoked before their expiry (issue 19): signing out puts the token's id (``jti``)
on a deny-list in the database; from then on it gets 401 on REST and on the stream's
WebSocket handshake, until it would have expired anyway, when its entry goes. The console's
sign-out revokes the token in its cookie, not only the cookie. A proctor ending a seat's
session revokes every session token launched at that seat and closes the stream one opened
(4001); what was acknowledged stays, and a new session resumes it. Across processes:
tests/stream/test_scale_out.py."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from backend.app.core.db import create_engine, create_sessionmaker
from backend.app.models import RevokedToken
from backend.app.models.enums import Role
from backend.app.repositories import tokens
from backend.app.services import messages
from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.control import SeatControl, control_url
from kiosk.core.flow import KioskFlow, Screen
from support.api import Actor, Api, signed_in_page
from support.capture import SyntheticMic
from support.room import SeatStub, assign_center, enroll_kiosk
from support.stream import frame, hello, new_interview, noise_pcm


def _me(api: Api, token: str) -> httpx.Response:
    return api.request("GET", "/api/v1/auth/me", token)


async def _deny_list(api: Api) -> dict[str, datetime]:
    engine = create_engine(api.server.settings)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalars(select(RevokedToken))
            return {row.token_id: row.expires_at for row in rows}
    finally:
        await engine.dispose()


def test_a_signed_out_token_is_refused_and_a_new_sign_in_is_not(api: Api) -> None:
    proctor = api.make_user(Role.PROCTOR)
    assert _me(api, proctor.token).status_code == 200
    out = api.request("POST", "/api/v1/auth/logout", proctor)
    assert out.status_code == 204
    refused = _me(api, proctor.token)
    assert refused.status_code == 401
    assert refused.json() == {"detail": messages.TOKEN_REVOKED}
    assert api.request("POST", "/api/v1/auth/logout", proctor).status_code == 401  # once is all
    again = api.login(proctor.email, proctor.password)
    assert _me(api, again).status_code == 200  # the person is not locked out, the token is


@pytest.mark.asyncio
async def test_a_signed_out_candidate_token_cannot_open_the_stream(api: Api) -> None:
    target = new_interview(api)
    # Before: the handshake passes authentication (and the stream opens).
    async with connect(target.ws_url, additional_headers=target.candidate.headers):
        pass
    out = await asyncio.to_thread(api.request, "POST", "/api/v1/auth/logout", target.candidate)
    assert out.status_code == 204
    with pytest.raises(InvalidStatus) as refused:
        await connect(target.ws_url, additional_headers=target.candidate.headers)
    assert refused.value.response.status_code == 401


def test_the_consoles_sign_out_revokes_the_token_in_its_cookie(api: Api) -> None:
    proctor = api.make_user(Role.PROCTOR)
    assign_center(api.server.settings, proctor.id, "leeds")  # a proctor with a room to show
    client = signed_in_page(api, proctor, "console")
    cookie_token = client.cookies["ik_console"]
    try:
        assert _me(api, cookie_token).status_code == 200  # a copy of the cookie works...
        page = client.get("/console")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert csrf
        out = client.post("/console/sign-out", data={"csrf_token": csrf.group(1)})
        assert out.status_code == 303
    finally:
        client.close()
    assert _me(api, cookie_token).status_code == 401  # ...until the page signs out
    assert _me(api, proctor.token).status_code == 200  # the proctor's other sign-ins stay


@pytest.mark.asyncio
async def test_the_deny_list_keeps_an_entry_only_until_its_token_would_expire(api: Api) -> None:
    proctor = api.make_user(Role.PROCTOR)
    engine = create_engine(api.server.settings)
    try:
        async with create_sessionmaker(engine)() as session:
            past = datetime.now(UTC) - timedelta(minutes=1)
            await tokens.revoke(session, "long-expired", past, "test")
            await session.commit()
    finally:
        await engine.dispose()
    assert "long-expired" in await _deny_list(api)
    out = await asyncio.to_thread(api.request, "POST", "/api/v1/auth/logout", proctor)
    assert out.status_code == 204
    listed = await _deny_list(api)
    assert "long-expired" not in listed  # the next sign-out swept it
    (entry,) = listed.values()
    # Kept exactly as long as the token it refuses: an access token's lifetime from sign-in.
    lifetime = timedelta(minutes=api.server.settings.access_token_minutes)
    assert timedelta(0) < entry - datetime.now(UTC) <= lifetime


def _launch(api: Api, proctor: Actor, candidate: Actor, kiosk_id: str) -> Actor:
    """The candidate as the kiosk knows them: with the session token a proctor launched."""
    launched = api.request(
        "POST",
        "/api/v1/proctor/sessions",
        proctor,
        json={"candidate_email": candidate.email, "kiosk_id": kiosk_id},
    )
    assert launched.status_code == 201, launched.text
    return dataclasses.replace(candidate, token=launched.json()["session_token"])


def _room(api: Api, center: str, seats: tuple[str, ...]) -> tuple[Actor, Actor, dict[str, str]]:
    """A proctor of ``center``, a candidate, and the seats' credentials."""
    settings = api.server.settings
    proctor, candidate = api.make_user(Role.PROCTOR), api.make_user(Role.CANDIDATE)
    credentials = {k: enroll_kiosk(settings, k, center) for k in seats}
    assign_center(settings, proctor.id, center)
    return proctor, candidate, credentials


@pytest.mark.asyncio
async def test_a_proctor_ending_a_seat_revokes_its_session_and_closes_the_live_stream(
    api: Api,
) -> None:
    proctor, candidate, credentials = await asyncio.to_thread(_room, api, "york", ("y-1", "y-2"))
    at_seat = await asyncio.to_thread(_launch, api, proctor, candidate, "y-1")
    next_seat = await asyncio.to_thread(_launch, api, proctor, candidate, "y-2")
    target = await asyncio.to_thread(new_interview, api, at_seat)
    # When the seat is told to end, its token must still work: it completes the interview.
    when_told: list[int] = []
    seat = await asyncio.to_thread(
        SeatStub, api.server.ws_url, "y-1", credentials["y-1"],
        on_command=lambda _command: when_told.append(_me(api, at_seat.token).status_code),
    )  # fmt: skip
    audio = noise_pcm(1.0)
    try:
        async with connect(target.ws_url, additional_headers=at_seat.headers) as stream:
            await stream.send(hello())
            assert json.loads(await stream.recv())["resume_offset"] == 0
            await stream.send(frame(0, audio))
            while (message := json.loads(await stream.recv()))["type"] != "ack":
                pass
            assert message["offset"] == len(audio)

            ended = await asyncio.to_thread(api.request, "POST", "/console/seats/y-1/end", proctor)
            assert ended.status_code == 200, ended.text
            assert [c["action"] for c in seat.commands] == ["end"]
            assert when_told == [200]
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(stream.recv(), 10)
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "revoked")
    finally:
        await asyncio.to_thread(seat.close)

    refused = await asyncio.to_thread(_me, api, at_seat.token)
    assert refused.status_code == 401
    assert refused.json() == {"detail": messages.TOKEN_REVOKED}
    with pytest.raises(InvalidStatus) as handshake:
        await connect(target.ws_url, additional_headers=at_seat.headers)
    assert handshake.value.response.status_code == 401
    # Only the sessions launched at that seat: the candidate's own sign-in and a session
    # launched at another seat go on.
    assert (await asyncio.to_thread(_me, api, candidate.token)).status_code == 200
    assert (await asyncio.to_thread(_me, api, next_seat.token)).status_code == 200
    # Nothing acknowledged is lost: a new session for the candidate resumes the interview.
    again = await asyncio.to_thread(_launch, api, proctor, candidate, "y-1")
    async with connect(target.ws_url, additional_headers=again.headers) as stream:
        await stream.send(hello())
        assert json.loads(await stream.recv())["resume_offset"] == len(audio)


def test_a_seat_that_refuses_to_end_keeps_its_session(api: Api) -> None:
    """The seat could not end it (no session there, or busy): the proctor gets the seat's
    words and may try again; nothing is revoked behind the candidate's back."""
    proctor, candidate, credentials = _room(api, "hull", ("h-1",))
    at_seat = _launch(api, proctor, candidate, "h-1")
    seat = SeatStub(api.server.ws_url, "h-1", credentials["h-1"], ok=False)
    try:
        ended = api.request("POST", "/console/seats/h-1/end", proctor)
    finally:
        seat.close()
    assert ended.status_code == 409, ended.text
    assert _me(api, at_seat.token).status_code == 200


@pytest.mark.asyncio
async def test_a_real_kiosk_ended_from_the_console_locks_and_its_tokens_are_refused(
    api: Api, tmp_path: Path
) -> None:
    """The kiosk's own flow and control channel: the console's end completes the interview
    and locks the seat; the kiosk signs its session out as the backend revokes it (the two at
    the same moment: neither fails), and every token the kiosk used is refused after."""
    proctor, candidate, credentials = await asyncio.to_thread(_room, api, "bath", ("b-1",))
    used: set[str] = set()

    async def note_token(request: httpx.Request) -> None:
        bearer = request.headers.get("Authorization", "")
        if bearer.startswith("Bearer ") and request.url.path != "/api/v1/auth/logout":
            used.add(bearer.removeprefix("Bearer "))

    config = KioskConfig.from_mapping({"kiosk_id": "b-1", "idle_minutes": 600}, "test")
    async with httpx.AsyncClient(timeout=30, event_hooks={"request": [note_token]}) as http:
        flow = KioskFlow(KioskApi(http, api.url), config, tmp_path / "spool", SyntheticMic(seed=3))
        control = SeatControl(flow, control_url(api.url, "b-1"), credentials["b-1"])
        channel = asyncio.create_task(control.run())
        try:
            flow.open_sign_in()
            await flow.sign_in(proctor.email, proctor.password)
            await flow.find_candidates(candidate.email)
            await flow.launch(next(c for c in flow.state.candidates if c.email == candidate.email))
            await flow.choose(role_type="python")
            await flow.start_interview()
            await asyncio.sleep(0.5)
            ended = await asyncio.to_thread(api.request, "POST", "/console/seats/b-1/end", proctor)
            assert ended.status_code == 200, ended.text
            assert flow.state.screen is Screen.LOCKED
            await flow.close()  # the kiosk's own sign-outs, done
        finally:
            await control.close()
            channel.cancel()
    assert len(used) == 2  # the proctor's sign-in and the candidate's session
    for token in used:
        refused = await asyncio.to_thread(_me, api, token)
        assert refused.json() == {"detail": messages.TOKEN_REVOKED}
