"""No input makes the server answer 500: malformed JSON, wrong types, huge strings, unknown
fields and bad path or query values, sent to every route by a caller allowed to use it."""

from __future__ import annotations

from typing import Any

import pytest

from backend.app.main import create_app
from support.api import Actor, Api, World

HUGE = "x" * 1_000_000

# Bodies that are valid apart from the breakage being tested.
BODY_ROUTES = [
    ("POST", "/api/v1/auth/register",
     {"email": "a@example.com", "password": "long-enough", "full_name": "A"}),
    ("POST", "/api/v1/auth/login", {"email": "a@example.com", "password": "whatever"}),
    ("POST", "/api/v1/job-postings", {"title": "T", "company": "C", "tech_stack": ["go"]}),
    ("PATCH", "/api/v1/job-postings/{posting}", {"title": "T2"}),
    ("PUT", "/api/v1/job-postings/{posting}/reviewers", {"reviewer_ids": []}),
    ("POST", "/api/v1/interviews/{interview}/share-links", {"days": 7}),
    ("PUT", "/api/v1/interviews/{interview}/review",
     {"ratings": [{"question_index": 0, "rating": 4, "comment": "c"}], "notes": "n",
      "recommendation": "hold"}),
    ("POST", "/api/v1/applications", {"job_posting_id": "{posting}"}),
    ("POST", "/api/v1/interviews/plan", {"role_type": "go"}),
    ("POST", "/api/interviews/plan", {"role_type": "go"}),
    ("POST", "/api/v1/interviews/start", {"role_type": "go"}),
    ("POST", "/api/v1/proctor/sessions", {"candidate_email": "x@example.com", "kiosk_id": "k"}),
    ("POST", "/api/v1/interviews/{interview}/preflight",
     {"noise_floor_dbfs": -60.0, "speech_level_dbfs": -20.0, "clipped_fraction": 0.0,
      "fit": True, "verdict": "ok"}),
]  # fmt: skip


def _breakages(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, body) pairs; bytes are sent raw as application/json."""
    cases: list[tuple[str, Any]] = [
        ("invalid json", b"{not json"),
        ("truncated json", b'{"a": '),
        ("json array", []),
        ("json string", "hello"),
        ("json null", None),
        ("unknown field", {**body, "is_admin": True}),
        ("non-utf8", b'{"x": "\xff\xfe"}'),
        ("deep nesting", b"[" * 10_000 + b"]" * 10_000),
    ]
    for key, value in body.items():
        cases.append((f"{key} number", {**body, key: 12345}))
        cases.append((f"{key} object", {**body, key: {"$gt": ""}}))
        cases.append((f"{key} huge", {**body, key: HUGE if isinstance(value, str) else [HUGE]}))
    return cases


@pytest.fixture(scope="module")
def owner_interview(shared_api: Api, shared_world: World) -> str:
    planned = shared_api.request(
        "POST", "/api/v1/interviews/plan", shared_world.owner, json={"role_type": "go"}
    )
    return str(planned.json()["interview_id"])


def _caller(world: World, path: str) -> Actor:
    if "job-postings" in path or "proctor" in path or path.endswith(("/review", "/share-links")):
        return world.admin
    return world.owner


CASES = [
    (method, path, name, broken)
    for method, path, body in BODY_ROUTES
    for name, broken in _breakages(body)
]


@pytest.mark.parametrize(
    ("method", "path", "name", "body"), CASES, ids=[f"{m} {p} {n}" for m, p, n, _ in CASES]
)
def test_broken_bodies_get_a_clear_4xx(
    shared_api: Api,
    shared_world: World,
    owner_interview: str,
    method: str,
    path: str,
    name: str,
    body: Any,
) -> None:
    names = {
        "posting": shared_world.posting["id"],
        "interview": owner_interview,
    }
    url = path.format(**names)
    headers = {"Content-Type": "application/json"}
    if isinstance(body, bytes):
        response = shared_api.request(
            method, url, _caller(shared_world, path), content=body, headers=headers
        )
    else:
        if isinstance(body, dict):
            body = {k: v.format(**names) if isinstance(v, str) and "{" in v else v
                    for k, v in body.items()}  # fmt: skip
        response = shared_api.request(method, url, _caller(shared_world, path), json=body)
    assert 400 <= response.status_code < 500, (
        f"{name}: {response.status_code} {response.text[:300]}"
    )
    assert "detail" in response.json()


BAD_PATHS = [
    "/api/v1/applications/not-a-uuid",
    "/api/v1/applications/" + "9" * 5000,
    "/api/v1/interviews/not-a-uuid",
    "/api/v1/interviews/00000000-0000-0000-0000-000000000000",
    "/api/interviews/%00/plan",
    "/api/v1/interviews?status=bogus",
    "/api/v1/interviews?limit=abc",
    "/api/v1/interviews?limit=-1",
    "/api/v1/interviews?kiosk_id=" + "k" * 5000,
    "/api/v1/proctor/candidates?limit=1000000000000000000000",
    "/api/v1/interviews/not-a-uuid/transcripts",
    "/api/v1/interviews/00000000-0000-0000-0000-000000000000/transcripts",
    "/api/v1/job-postings/not-a-uuid/reviewers",
    "/api/v1/reviews?status=bogus",
    "/api/v1/reviews?posting_id=not-a-uuid",
    "/api/v1/interviews/not-a-uuid/reviews",
    "/api/v1/interviews/not-a-uuid/review-activity",
    "/api/v1/interviews/not-a-uuid/share-links",
    "/shared/not-a-token",
    "/shared/iks_" + "x" * 5000,
    "/shared/not-a-token/questions/0/answer",
    "/shared/iks_nope/questions/abc/answer",
    "/api/v1/interviews/00000000-0000-0000-0000-000000000000/reviews",
    "/api/v1/job-postings/00000000-0000-0000-0000-000000000000/reviewers",
    "/api/v1/proctor/candidates?query=" + "%25_" * 2000,
]


@pytest.mark.parametrize("path", BAD_PATHS, ids=range(len(BAD_PATHS)))
def test_bad_path_and_query_values_get_a_clear_4xx(
    shared_api: Api, shared_world: World, path: str
) -> None:
    response = shared_api.request("GET", path, shared_world.admin)
    assert 400 <= response.status_code < 500, f"{response.status_code} {response.text[:300]}"


def test_wildcards_in_candidate_search_are_literal(shared_api: Api, shared_world: World) -> None:
    found = shared_api.request(
        "GET", "/api/v1/proctor/candidates", shared_world.proctor, params={"query": "%"}
    )
    assert found.status_code == 200
    assert found.json() == []
    by_name = shared_api.request(
        "GET", "/api/v1/proctor/candidates", shared_world.proctor, params={"query": "olive"}
    ).json()
    assert [c["email"] for c in by_name] == [shared_world.owner.email]


def test_every_body_route_is_exercised() -> None:
    with_bodies = {
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    exercised = {
        (m, p.replace("{posting}", "{posting_id}").replace("{interview}", "{interview_id}"))
        for m, p, _ in BODY_ROUTES
    }
    assert with_bodies == exercised
