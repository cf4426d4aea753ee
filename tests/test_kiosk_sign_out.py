"""The kiosk signs out every token it lets go of (issue 19): one a failed sign-in got, the
proctor's when the seat is handed to the candidate, the proctor's confirmation at the paused
screen, the candidate's session when the interview is finished. Each token the kiosk sent
over the wire is refused by the backend afterwards, so a copy of one is worth nothing. (The
console ending a seat's session with a real kiosk: tests/api/test_revocation.py.)

The kiosk's own ``KioskFlow`` and ``KioskApi`` (no window) against a real backend, with the
seeded synthetic microphone; the tokens are read off the wire by an httpx event hook."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from backend.app.services import messages
from kiosk.core import errors
from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.flow import KioskFlow, Screen
from support.api import Actor, Api
from support.capture import SyntheticMic


def _me(api: Api, token: str) -> httpx.Response:
    return api.request("GET", "/api/v1/auth/me", token)


async def _all_refused(api: Api, tokens: set[str]) -> dict[str, int]:
    """Each token's status on REST once the background sign-outs have had time (≤ 10 s)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        statuses = {t: (await asyncio.to_thread(_me, api, t)).status_code for t in tokens}
        if set(statuses.values()) == {401} or asyncio.get_running_loop().time() > deadline:
            return statuses
        await asyncio.sleep(0.1)


@pytest.mark.asyncio
async def test_every_token_the_kiosk_used_is_revoked_once_it_lets_go(
    api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    sent: list[str] = []

    async def note_token(request: httpx.Request) -> None:
        bearer = request.headers.get("Authorization", "")
        if bearer.startswith("Bearer ") and request.url.path != "/api/v1/auth/logout":
            sent.append(bearer.removeprefix("Bearer "))

    proctor, candidate = people["proctor"], people["candidate"]
    config = KioskConfig.from_mapping({"kiosk_id": "seat-9", "idle_minutes": 600}, "test")
    async with httpx.AsyncClient(timeout=30, event_hooks={"request": [note_token]}) as http:
        flow = KioskFlow(KioskApi(http, api.url), config, tmp_path / "spool", SyntheticMic(seed=9))
        flow.open_sign_in()
        # A candidate's own account at the proctor's sign-in: refused after the sign-in
        # succeeded, so the token it got is let go of at once.
        with pytest.raises(errors.ApiError, match="Only a proctor"):
            await flow.sign_in(candidate.email, candidate.password)
        refused_sign_in = sent[-1]
        await flow.sign_in(proctor.email, proctor.password)
        proctor_token = sent[-1]
        await flow.find_candidates(candidate.email)
        chosen = next(c for c in flow.state.candidates if c.email == candidate.email)
        await flow.launch(chosen)
        session_token = sent[-1]
        assert len({refused_sign_in, proctor_token, session_token}) == 3
        # Handed over: the proctor's token is signed out while the candidate goes on.
        assert (await _all_refused(api, {refused_sign_in, proctor_token})) == {
            refused_sign_in: 401, proctor_token: 401}  # fmt: skip
        assert (await asyncio.to_thread(_me, api, session_token)).status_code == 200
        await flow.choose(role_type="python")
        await flow.start_interview()
        # Paused, and continued by a proctor signing in at the seat: that token goes too.
        flow.pause_for_proctor("Fire drill")
        await flow.continue_after_pause(proctor.email, proctor.password)
        assert flow.state.screen is Screen.INTERVIEW
        assert len(set(sent) - {refused_sign_in, proctor_token, session_token}) == 1
        await asyncio.sleep(0.5)
        await flow.finish()
        assert flow.state.screen is Screen.DONE
        flow.lock()
        await flow.close()  # the sign-outs under way, done
    assert len(set(sent)) == 4
    for token in set(sent):
        refused = await asyncio.to_thread(_me, api, token)
        assert refused.json() == {"detail": messages.TOKEN_REVOKED}, token  # not expired
    # The people are not locked out, only the tokens: their own sign-ins still work.
    assert (await asyncio.to_thread(_me, api, proctor.token)).status_code == 200
    assert (await asyncio.to_thread(_me, api, candidate.token)).status_code == 200
