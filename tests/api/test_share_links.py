"""Share links (issue 17): one interview, read-only, for someone without an account; the
posting's private questions left out; refused after revoke and after expiry; audited; never a
key to anything else. On SQLite and again on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import update

from backend.app.models import ShareLink
from backend.app.models.enums import Role
from support.api import Api
from support.review import answer_aloud, assign_reviewer, in_database, posting_of
from support.stream import ruled_interview

ANSWERS = [bytes([n]) * 32000 for n in (1, 2, 3)]  # three answers, each its own bytes
RUBRICS = ["Names a concrete change and its effect", "", "Explains the trade-off"]


@pytest.fixture
def shared(api: Api) -> dict[str, Any]:
    target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1,
                             private_questions=[1], question_rubrics=RUBRICS)  # fmt: skip
    asyncio.run(answer_aloud(target, ANSWERS))
    reviewer = assign_reviewer(api, posting_of(api, target))
    saved = api.request("PUT", f"/api/v1/interviews/{target.interview_id}/review", reviewer,
                        json={"ratings": [{"question_index": 0, "rating": 5,
                                           "comment": "A reviewer's own words"}],
                              "notes": "Not for the hiring manager"})  # fmt: skip
    assert saved.status_code == 200, saved.text
    detail = api.request("GET", f"/api/v1/interviews/{target.interview_id}", reviewer).json()
    return {"target": target, "reviewer": reviewer, "questions": detail["questions"]}


def make_link(api: Api, shared: dict[str, Any], days: int = 7) -> dict[str, Any]:
    made = api.request("POST", f"/api/v1/interviews/{shared['target'].interview_id}/share-links",
                       shared["reviewer"], json={"days": days})  # fmt: skip
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_a_share_link_opens_the_interview_without_an_account_and_hides_what_it_should(
    api: Api, shared: dict[str, Any]
) -> None:
    link = make_link(api, shared)
    assert link["url"].startswith(f"{api.url}/shared/iks_")
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    anyone = httpx.Client(timeout=30)  # no cookie, no token
    page = anyone.get(link["url"])
    assert page.status_code == 200, page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    questions = shared["questions"]
    assert questions[0]["text"] in page.text and questions[2]["text"] in page.text
    assert questions[1]["text"] not in page.text  # private
    for secret in ("A reviewer's own words", "Not for the hiring manager", RUBRICS[0]):
        assert secret not in page.text
    first = anyone.get(f"{link['url']}/questions/0/answer")
    assert (first.status_code, first.content[44:]) == (200, ANSWERS[0])
    part = anyone.get(f"{link['url']}/questions/2/answer", headers={"Range": "bytes=44-143"})
    assert (part.status_code, part.content) == (206, ANSWERS[2][:100])
    assert anyone.get(f"{link['url']}/questions/1/answer").status_code == 404  # private
    assert anyone.get(f"{link['url']}/questions/7/answer").status_code == 404

    # The link is not a key to the API, nor to another interview.
    token = link["url"].rsplit("/", 1)[1]
    iid = shared["target"].interview_id
    for path in (f"/api/v1/interviews/{iid}", f"/api/v1/interviews/{iid}/reviews",
                 f"/api/v1/interviews/{iid}/transcripts", "/api/v1/reviews"):  # fmt: skip
        assert api.request("GET", path, token).status_code == 401
    rated = api.request("PUT", f"/api/v1/interviews/{iid}/review", token, json={"ratings": []})
    assert rated.status_code == 401


def test_a_share_links_token_is_not_written_to_the_log(api: Api, shared: dict[str, Any]) -> None:
    link = make_link(api, shared)
    token = link["url"].rsplit("/", 1)[1]
    with structlog.testing.capture_logs() as logs:
        anyone = httpx.Client(timeout=30)
        assert anyone.get(link["url"]).status_code == 200
        assert anyone.get(f"{link['url']}/questions/0/answer").status_code == 200
        # Each request's line is written once its response has gone: wait for both.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = [entry for entry in logs if entry.get("event") == "request"]
            if len(lines) >= 2:
                break
            time.sleep(0.05)
    assert [entry["path"] for entry in lines] == [
        "/shared/<token>",
        "/shared/<token>/questions/0/answer",
    ]
    assert token not in repr(logs)


def test_a_share_link_is_refused_after_revoke_and_after_expiry(
    api: Api, shared: dict[str, Any]
) -> None:
    revoked, expired = make_link(api, shared), make_link(api, shared, days=1)
    anyone = httpx.Client(timeout=30)
    assert anyone.get(revoked["url"]).status_code == 200
    # Only who may review the interview revokes a link.
    for outsider in (shared["target"].candidate, api.make_user(Role.REVIEWER)):
        refused = api.request("DELETE", f"/api/v1/share-links/{revoked['id']}", outsider)
        assert refused.status_code == 403
    gone = api.request("DELETE", f"/api/v1/share-links/{revoked['id']}", shared["reviewer"])
    assert gone.status_code == 200 and gone.json()["revoked_at"] is not None
    again = api.request("DELETE", f"/api/v1/share-links/{revoked['id']}", shared["reviewer"])
    assert again.json()["revoked_at"] == gone.json()["revoked_at"]
    unknown = api.request("DELETE", f"/api/v1/share-links/{uuid.uuid4()}", shared["reviewer"])
    assert unknown.status_code == 404

    in_database(api.server.settings, lambda s: s.execute(
        update(ShareLink).where(ShareLink.id == uuid.UUID(expired["id"]))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    ))  # fmt: skip
    for link in (revoked, expired):
        page = anyone.get(link["url"])
        assert page.status_code == 404
        assert "This link has expired or was withdrawn" in page.text
        assert anyone.get(f"{link['url']}/questions/0/answer").status_code == 404
    # A made-up token gets the same answer as a revoked one: a guess learns nothing.
    assert anyone.get(f"{api.url}/shared/iks_{'A' * 43}").status_code == 404

    links = api.request(
        "GET", f"/api/v1/interviews/{shared['target'].interview_id}/share-links",
        shared["reviewer"],
    ).json()  # fmt: skip
    assert {x["id"]: x["revoked_at"] is not None for x in links} == {
        revoked["id"]: True, expired["id"]: False,
    }  # fmt: skip
    assert all("url" not in x for x in links)  # shown once, never again


def test_making_opening_playing_and_revoking_are_audited(api: Api, shared: dict[str, Any]) -> None:
    link = make_link(api, shared)
    anyone = httpx.Client(timeout=30)
    anyone.get(link["url"])
    anyone.get(f"{link['url']}/questions/2/answer")
    api.request("DELETE", f"/api/v1/share-links/{link['id']}", shared["reviewer"])
    admin = api.make_user(Role.ADMIN)
    activity = api.request(
        "GET", f"/api/v1/interviews/{shared['target'].interview_id}/review-activity", admin
    ).json()
    seen = [(a["action"], a["actor_email"], a["details"].get("share_link")) for a in activity]
    reviewer = shared["reviewer"].email
    assert seen[-4:] == [
        ("share_link_created", reviewer, link["id"]),
        ("share_link_opened", None, link["id"]),
        ("answer_played", None, link["id"]),
        ("share_link_revoked", reviewer, link["id"]),
    ]


def test_private_questions_and_rubrics_are_checked_and_kept_from_candidates(
    api: Api, shared: dict[str, Any]
) -> None:
    admin = api.make_user(Role.ADMIN)
    posting = posting_of(api, shared["target"])
    for bad in ({"private_questions": [100]}, {"private_questions": ["one"]},
                {"private_questions": None}, {"question_rubrics": ["x" * 2001]}):  # fmt: skip
        changed = api.request("PATCH", f"/api/v1/job-postings/{posting}", admin, json=bad)
        assert changed.status_code == 422, bad
    tidy = api.request("PATCH", f"/api/v1/job-postings/{posting}", admin,
                       json={"private_questions": [2, 1, 2]})  # fmt: skip
    assert tidy.json()["private_questions"] == [1, 2]
    assert tidy.json()["question_rubrics"] == RUBRICS
    # Candidates never see how they are scored, nor what is kept from whom.
    listed = api.request("GET", "/api/v1/job-postings", shared["target"].candidate).json()
    mine = next(p for p in listed if p["id"] == posting)
    assert not {"question_rubrics", "private_questions", "retention_days"} & set(mine)


def test_only_a_completed_interview_is_shared(api: Api) -> None:
    target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1)
    made = api.request("POST", f"/api/v1/interviews/{target.interview_id}/share-links",
                       api.make_user(Role.ADMIN), json={})  # fmt: skip
    assert made.status_code == 409
    assert made.json()["detail"] == "Only a completed interview can be shared"


def test_every_shared_route_is_covered() -> None:
    from fastapi.routing import APIRoute

    from backend.app.web.shared import router

    routes = {
        (method, route.path) for route in router.routes if isinstance(route, APIRoute)
        for method in route.methods
    }  # fmt: skip
    # Both are opened above with a live link, a revoked one, an expired one and a made-up one.
    assert routes == {
        ("GET", "/shared/{token}"),
        ("GET", "/shared/{token}/questions/{index}/answer"),
    }
