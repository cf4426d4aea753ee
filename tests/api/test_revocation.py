"""Tokens revoked before their expiry (issue 19, first part): signing out puts the token's id
(``jti``) on a deny-list in the database; from then on it gets 401 on REST and on the
stream's WebSocket handshake, until it would have expired anyway, when its entry goes.
The console's sign-out revokes the token in its cookie, not only the cookie."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from backend.app.core.db import create_engine, create_sessionmaker
from backend.app.models import RevokedToken
from backend.app.models.enums import Role
from backend.app.repositories import tokens
from backend.app.services import messages
from support.api import Actor, Api
from support.room import assign_center
from support.stream import new_interview


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


def _console(api: Api, who: Actor) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=api.url, timeout=30)
    form = client.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    signed_in = client.post("/console/sign-in", data={
        "email": who.email, "password": who.password, "csrf_token": token.group(1)})  # fmt: skip
    assert signed_in.status_code == 303, signed_in.text
    return client, client.cookies["ik_console"]


def test_the_consoles_sign_out_revokes_the_token_in_its_cookie(api: Api) -> None:
    proctor = api.make_user(Role.PROCTOR)
    assign_center(api.server.settings, proctor.id, "leeds")  # a proctor with a room to show
    client, cookie_token = _console(api, proctor)
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
