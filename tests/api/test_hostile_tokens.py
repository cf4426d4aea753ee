"""Hostile callers over real HTTP and the real WebSocket handshake: a guessed password, an
expired token, one candidate's token on another's interview, a kiosk session token on staff
routes. Each is refused.

Proven elsewhere, not repeated here:
- five wrong passwords lock the e-mail, even against the right one, with a 429 and a
  Retry-After of about 15 minutes:
  test_auth.py::test_five_failures_lock_the_email_for_fifteen_minutes;
- an expired access token on /auth/me, a token signed with another secret:
  test_authorization_matrix.py::test_expired_token_is_refused and
  ::test_token_signed_with_another_secret_is_refused;
- a candidate's session token on every proctor and admin route (GET /proctor/candidates,
  POST /proctor/sessions, POST and PATCH /job-postings) is 403: the ``owner_session`` column of
  test_authorization_matrix.py::test_route_answers_each_caller_as_documented.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from backend.app.core.security import issue_token
from backend.app.models.enums import Role
from backend.app.services import messages
from support.api import Actor, Api, World

PREFLIGHT = {"noise_floor_dbfs": -60.0, "speech_level_dbfs": -20.0, "clipped_fraction": 0.0,
             "fit": True, "verdict": "ok"}  # fmt: skip


def _session_token(api: Api, proctor: Actor, candidate: Actor, kiosk_id: str) -> str:
    launched = api.request(
        "POST", "/api/v1/proctor/sessions", proctor,
        json={"candidate_email": candidate.email, "kiosk_id": kiosk_id},
    )  # fmt: skip
    assert launched.status_code == 201, launched.text
    return str(launched.json()["session_token"])


def _plan(api: Api, candidate: Actor) -> dict[str, Any]:
    planned = api.request("POST", "/api/v1/interviews/plan", candidate, json={"role_type": "go"})
    assert planned.status_code == 201, planned.text
    return dict(planned.json())


def _handshake_status(ws_url: str, token: str) -> int:
    """The HTTP status that refused the WebSocket handshake (no socket opens)."""
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)
    return refused.value.response.status_code


@pytest.fixture(scope="module")
def interviews(shared_api: Api, shared_world: World) -> dict[str, dict[str, Any]]:
    """An interview for each of two candidates: A (the owner) and B (the other)."""
    return {"a": _plan(shared_api, shared_world.owner), "b": _plan(shared_api, shared_world.other)}


def test_throttle_counts_every_spelling_of_one_email(shared_api: Api) -> None:
    # The lock is per e-mail; respelling the address must not buy five more guesses.
    victim = shared_api.make_user(Role.CANDIDATE)
    local, domain = victim.email.split("@")
    spellings = [victim.email.upper(), f"  {victim.email}  ", f"{local.title()}@{domain.upper()}",
                 victim.email.swapcase(), victim.email]  # fmt: skip
    for spelling in spellings:
        guess = shared_api.request(
            "POST", "/api/v1/auth/login", json={"email": spelling, "password": "wrong-guess"}
        )
        assert guess.status_code == 401, guess.text
    locked = shared_api.request(
        "POST", "/api/v1/auth/login",
        json={"email": victim.email.upper(), "password": victim.password},
    )  # fmt: skip
    assert locked.status_code == 429
    assert locked.json() == {"detail": messages.TOO_MANY_ATTEMPTS}
    assert int(locked.headers["Retry-After"]) > 0


@pytest.mark.parametrize("kind", ["access", "session"])
def test_expired_token_is_refused_on_rest_and_websocket(
    shared_api: Api, shared_world: World, interviews: dict[str, dict[str, Any]], kind: str
) -> None:
    candidate, proctor = shared_world.owner, shared_world.proctor
    interview = interviews["a"]
    secret = shared_api.server.settings.resolved_jwt_secret()

    def token(lifetime: timedelta) -> str:
        if kind == "session":
            minted, _ = issue_token(secret, candidate.id, "session", lifetime,
                                    proctor_id=proctor.id, kiosk_id="seat-1")  # fmt: skip
        else:
            minted, _ = issue_token(secret, candidate.id, "access", lifetime)
        return minted

    # The same claims an hour from expiry are accepted: only the past `exp` differs.
    fresh, expired = token(timedelta(hours=1)), token(timedelta(seconds=-1))
    path = f"/api/v1/interviews/{interview['interview_id']}"
    assert shared_api.request("GET", path, fresh).status_code == 200
    for route in ("/api/v1/auth/me", path):
        refused = shared_api.request("GET", route, expired)
        assert refused.status_code == 401, route
        assert refused.json() == {"detail": messages.INVALID_TOKEN}
        assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert _handshake_status(interview["ws_url"], expired) == 401


def test_one_candidates_tokens_are_refused_on_another_candidates_interview(
    shared_api: Api, shared_world: World, interviews: dict[str, dict[str, Any]]
) -> None:
    # A's sign-in token and the session token a proctor launched for A at a kiosk.
    owner_a, owner_b = shared_world.owner, shared_world.other
    a_tokens = {
        "access": owner_a.token,
        "session": _session_token(shared_api, shared_world.proctor, owner_a, "seat-a"),
    }
    b_id = interviews["b"]["interview_id"]
    requests = [
        ("GET", f"/api/v1/interviews/{b_id}", None),
        ("GET", f"/api/v1/interviews/{b_id}/recording", None),
        ("POST", f"/api/v1/interviews/{b_id}/preflight", PREFLIGHT),
    ]
    # B's own token reaches each (there is no audio yet, hence 404 for the recording).
    answered = [shared_api.request(m, p, owner_b, json=body).status_code for m, p, body in requests]
    assert answered == [200, 404, 200]
    for kind, token in a_tokens.items():
        for method, path, body in requests:
            refused = shared_api.request(method, path, token, json=body)
            assert refused.status_code == 403, f"{kind} {method} {path}: {refused.text}"
            assert refused.json() == {"detail": messages.INTERVIEW_FORBIDDEN}
        assert _handshake_status(interviews["b"]["ws_url"], token) == 403, kind
    # A's own interview still opens with the same tokens: the refusal is about B's.
    own = {"Authorization": f"Bearer {a_tokens['session']}"}
    with connect(interviews["a"]["ws_url"], additional_headers=own, open_timeout=10):
        pass


def test_session_token_gets_no_staff_view(
    shared_api: Api, shared_world: World, interviews: dict[str, dict[str, Any]]
) -> None:
    # The session token records the proctor who launched it; it must not carry their rights.
    proctor = shared_world.proctor
    session = _session_token(shared_api, proctor, shared_world.owner, "seat-a")
    staff_reads = [
        "/api/v1/proctor/candidates?query=oscar",
        f"/api/v1/interviews/{interviews['b']['interview_id']}",
        f"/api/v1/applications/{shared_world.other_application['id']}",
    ]
    for path in staff_reads:
        assert shared_api.request("GET", path, proctor).status_code == 200, path
        assert shared_api.request("GET", path, session).status_code == 403, path
    # Staff list everyone's interviews; the session token lists only its candidate's.
    everyone = shared_api.request("GET", "/api/v1/interviews", proctor).json()
    own = shared_api.request("GET", "/api/v1/interviews", session).json()
    assert interviews["b"]["interview_id"] in {i["id"] for i in everyone}
    assert interviews["a"]["interview_id"] in {i["id"] for i in own}
    assert {i["candidate_id"] for i in own} == {str(shared_world.owner.id)}
    # A session token naming a proctor is never issued; if one were forged it is no credential.
    secret = shared_api.server.settings.resolved_jwt_secret()
    staff_session, _ = issue_token(secret, proctor.id, "session", timedelta(hours=1),
                                   proctor_id=proctor.id, kiosk_id="seat-a")  # fmt: skip
    refused = shared_api.request("GET", "/api/v1/proctor/candidates", staff_session)
    assert refused.status_code == 401
    assert refused.json() == {"detail": messages.INVALID_TOKEN}
