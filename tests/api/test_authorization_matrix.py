"""Every route x every kind of caller gets the documented status.

Callers: anonymous, the candidate who owns the subject, another candidate, the owner through a
proctor-launched session token, a proctor, an admin, a reviewer (of the shared posting; the
interview here is not completed, so not yet theirs to review). A route added to the app
without a row here fails `test_every_route_is_in_the_matrix`.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

from backend.app.main import create_app
from backend.app.models.enums import Role
from support.api import Actor, Api, World

CALLERS = ["anonymous", "owner", "other", "owner_session", "proctor", "admin", "reviewer"]


def row(
    anonymous: int, owner: int, other: int, session: int, proctor: int, admin: int, reviewer: int
) -> dict:
    statuses = [anonymous, owner, other, session, proctor, admin, reviewer]
    return dict(zip(CALLERS, statuses, strict=True))


EVERYONE_SIGNED_IN = row(401, 200, 200, 200, 200, 200, 200)
ADMIN_WRITES = row(401, 403, 403, 403, 403, 201, 403)
ADMIN_ONLY = row(401, 403, 403, 403, 403, 200, 403)
STAFF_READS = row(401, 403, 403, 403, 200, 200, 403)
OWNER_OR_STAFF = row(401, 200, 403, 200, 200, 200, 403)
CANDIDATES_CREATE = row(401, 201, 201, 201, 403, 403, 403)
REVIEWERS_READ = row(401, 403, 403, 403, 403, 200, 200)

PREFLIGHT = {"noise_floor_dbfs": -62.0, "speech_level_dbfs": -21.5, "clipped_fraction": 0.0,
             "fit": True, "verdict": "The microphone is working well."}  # fmt: skip

# (method, path, json body, expected). {posting}, {owner_app}, {owner_interview} and
# {fresh_posting:<caller>} are filled in from the shared world.
MATRIX: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/health", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("POST", "/api/v1/auth/register", "register", row(201, 201, 201, 201, 201, 201, 201)),
    ("POST", "/api/v1/auth/login", "login", row(200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/auth/me", None, EVERYONE_SIGNED_IN),
    ("POST", "/api/v1/auth/logout", "logout", row(401, 204, 204, 204, 204, 204, 204)),
    ("GET", "/api/v1/job-postings", None, EVERYONE_SIGNED_IN),
    ("POST", "/api/v1/job-postings", {"title": "T", "company": "C"}, ADMIN_WRITES),
    ("PATCH", "/api/v1/job-postings/{posting}", {"experience_level": "senior"}, ADMIN_ONLY),
    ("POST", "/api/v1/applications", "apply", CANDIDATES_CREATE),
    ("GET", "/api/v1/applications", None, EVERYONE_SIGNED_IN),
    ("GET", "/api/v1/applications/{owner_app}", None, OWNER_OR_STAFF),
    ("POST", "/api/v1/interviews/plan", {"role_type": "go"}, CANDIDATES_CREATE),
    ("POST", "/api/interviews/plan", {"role_type": "go"}, CANDIDATES_CREATE),
    ("GET", "/api/v1/interviews/{owner_interview}/plan", None, OWNER_OR_STAFF),
    ("GET", "/api/interviews/{owner_interview}/plan", None, OWNER_OR_STAFF),
    ("POST", "/api/v1/interviews/start", {"application_id": "{owner_app}"},
     row(401, 201, 403, 201, 403, 403, 403)),
    ("GET", "/api/v1/interviews", None, EVERYONE_SIGNED_IN),
    ("GET", "/api/v1/interviews/{owner_interview}", None, OWNER_OR_STAFF),
    ("POST", "/api/v1/interviews/{owner_interview}/preflight", PREFLIGHT,
     row(401, 200, 403, 200, 403, 403, 403)),
    # Allowed callers get 404: this interview has streamed no audio (tests/stream covers 200).
    ("GET", "/api/v1/interviews/{owner_interview}/recording", None,
     row(401, 404, 403, 404, 404, 404, 403)),  # reviewers: never (test_transcripts.py)
    # Nor has it a kept answer (tests/api/test_interview_answers.py covers 200 and 206).
    ("GET", "/api/v1/interviews/{owner_interview}/questions/{index}/answer", None,
     row(401, 404, 403, 404, 404, 404, 403)),
    # Each question read aloud (espeak-ng renders it on the first request).
    ("GET", "/api/v1/interviews/{owner_interview}/questions/{index}/speech", None, OWNER_OR_STAFF),
    # Incidents proctors filed from the room console (tests/api/test_room_console.py files one).
    ("GET", "/api/v1/interviews/{owner_interview}/incidents", None, STAFF_READS),
    # Transcripts: admins and the posting's reviewers, once the interview is completed
    # (tests/api/test_transcripts.py covers a completed one).
    ("GET", "/api/v1/interviews/{owner_interview}/transcripts", None, ADMIN_ONLY),
    ("GET", "/api/v1/job-postings/{posting}/reviewers", None, ADMIN_ONLY),
    # (The matrix's reviewer stays the shared posting's reviewer, whatever the order.)
    ("PUT", "/api/v1/job-postings/{posting}/reviewers", {"reviewer_ids": ["{reviewer_id}"]},
     ADMIN_ONLY),
    ("GET", "/api/v1/job-postings/{posting}/reviews.csv", None, REVIEWERS_READ),
    # Reviews (tests/api/test_reviews.py covers a completed interview and blind scoring).
    ("GET", "/api/v1/reviews", None, REVIEWERS_READ),
    ("GET", "/api/v1/interviews/{owner_interview}/reviews", None, ADMIN_ONLY),
    ("PUT", "/api/v1/interviews/{owner_interview}/review", {"ratings": []}, ADMIN_ONLY),
    ("GET", "/api/v1/interviews/{owner_interview}/review-activity", None, ADMIN_ONLY),
    # Deleting a candidate's interviews (admins; 404 here: nobody has that id, so the shared
    # world keeps its interviews; tests/api/test_retention.py deletes real ones).
    ("DELETE", "/api/v1/candidates/{nobody}/interviews", None,
     row(401, 403, 403, 403, 403, 404, 403)),
    # Share links (tests/api/test_share_links.py opens, hides, revokes and expires them).
    # (409 for admins: only a completed interview is shared.)
    ("POST", "/api/v1/interviews/{owner_interview}/share-links", {"days": 7},
     row(401, 403, 403, 403, 403, 409, 403)),
    ("GET", "/api/v1/interviews/{owner_interview}/share-links", None, ADMIN_ONLY),
    ("DELETE", "/api/v1/share-links/{nolink}", None, row(401, 403, 403, 403, 403, 404, 404)),
    ("GET", "/api/v1/proctor/candidates", None, STAFF_READS),
    ("POST", "/api/v1/proctor/sessions", {"candidate_email": "{owner_email}", "kiosk_id": "k1"},
     row(401, 403, 403, 403, 201, 201, 403)),
]  # fmt: skip


@pytest.fixture(scope="module")
def callers(shared_api: Api, shared_world: World) -> dict[str, Actor | None]:
    launch = shared_api.request(
        "POST", "/api/v1/proctor/sessions", shared_world.proctor,
        json={"candidate_email": shared_world.owner.email, "kiosk_id": "matrix"},
    ).json()  # fmt: skip
    reviewer = shared_api.make_user(Role.REVIEWER)
    assigned = shared_api.request(
        "PUT", f"/api/v1/job-postings/{shared_world.posting['id']}/reviewers", shared_world.admin,
        json={"reviewer_ids": [str(reviewer.id)]},
    )  # fmt: skip
    assert assigned.status_code == 200, assigned.text
    session = Actor(
        shared_world.owner.id, shared_world.owner.email, shared_world.owner.password,
        "candidate", launch["session_token"],
    )  # fmt: skip
    return {
        "anonymous": None,
        "owner": shared_world.owner,
        "other": shared_world.other,
        "owner_session": session,
        "proctor": shared_world.proctor,
        "admin": shared_world.admin,
        "reviewer": reviewer,
    }


@pytest.fixture(scope="module")
def owner_interview(shared_api: Api, shared_world: World) -> str:
    made = shared_api.request(
        "POST", "/api/v1/interviews/plan", shared_world.owner, json={"role_type": "python"}
    )
    return str(made.json()["interview_id"])


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
def test_route_answers_each_caller_as_documented(
    shared_api: Api,
    shared_world: World,
    callers: dict[str, Actor | None],
    owner_interview: str,
    method: str,
    path: str,
    body: Any,
    expected: dict[str, int],
    caller: str,
) -> None:
    actor = callers[caller]
    names = {
        "posting": shared_world.posting["id"],
        "owner_app": shared_world.application["id"],
        "owner_interview": owner_interview,
        "owner_email": shared_world.owner.email,
        "index": 0,
        "nobody": "00000000-0000-0000-0000-000000000000",
        "reviewer_id": str(callers["reviewer"].id),  # type: ignore[union-attr]
        "nolink": "00000000-0000-0000-0000-000000000000",
    }
    if body == "register":
        body = {"email": f"new-{uuid.uuid4().hex[:8]}@example.com", "password": "long-enough-1",
                "full_name": "New Person"}  # fmt: skip
    elif body == "login":
        who = actor or shared_world.other
        body = {"email": who.email, "password": who.password}
    elif body == "logout":  # a token of the caller's own: the shared one must keep working
        body = None
        if actor is not None and caller == "owner_session":
            launched = shared_api.request(
                "POST", "/api/v1/proctor/sessions", shared_world.proctor,
                json={"candidate_email": actor.email, "kiosk_id": "matrix"},
            ).json()  # fmt: skip
            actor = replace(actor, token=launched["session_token"])
        elif actor is not None:
            actor = replace(actor, token=shared_api.login(actor.email, actor.password))
    elif body == "apply":  # a posting this caller has not applied to yet
        fresh = shared_api.request(
            "POST", "/api/v1/job-postings", shared_world.admin,
            json={"title": f"Opening {uuid.uuid4().hex[:6]}", "company": "Matrix Ltd"},
        ).json()  # fmt: skip
        body = {"job_posting_id": fresh["id"]}
    response = shared_api.request(
        method, path.format(**names), actor, json=_fill(body, names) if body is not None else None
    )
    assert response.status_code == expected[caller], response.text


def test_every_route_is_in_the_matrix() -> None:
    routes = {
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items()
        for method in operations
    }
    covered = {
        (method, path.replace("{posting}", "{posting_id}")
         .replace("{owner_app}", "{application_id}")
         .replace("{owner_interview}", "{interview_id}")
         .replace("{nobody}", "{candidate_id}")
         .replace("{nolink}", "{link_id}"))
        for method, path, _, _ in MATRIX
    }  # fmt: skip
    assert routes == covered


def test_expired_token_is_refused(shared_api: Api, shared_world: World) -> None:
    from datetime import timedelta

    from backend.app.core.security import issue_token

    secret = shared_api.server.settings.resolved_jwt_secret()
    token, _ = issue_token(secret, shared_world.owner.id, "access", timedelta(seconds=-1))
    response = shared_api.request("GET", "/api/v1/auth/me", token)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or expired token"}


def test_token_signed_with_another_secret_is_refused(shared_api: Api, shared_world: World) -> None:
    from datetime import timedelta

    from backend.app.core.security import issue_token

    token, _ = issue_token(
        "another-secret-" * 4, shared_world.admin.id, "access", timedelta(hours=1)
    )
    assert shared_api.request("GET", "/api/v1/auth/me", token).status_code == 401
