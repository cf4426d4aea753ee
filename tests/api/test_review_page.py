"""The review page over HTTP (issue 17): who may sign in, the cookie and CSRF rules it shares
with the room console, every route against every kind of caller, the answer served with HTTP
Range to the player, and the audit of who listened and rated, readable by admins."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest

from backend.app.models.enums import Role
from support.api import Actor, Api, signed_in_page
from support.review import answer_aloud, assign_reviewer, posting_of
from support.stream import StreamTarget, ruled_interview

ANSWER = bytes(range(256)) * 250  # 64,000 bytes: 2 s of audio nobody could mistake for another


@pytest.fixture
def reviewed(api: Api) -> dict[str, Any]:
    target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1)
    asyncio.run(answer_aloud(target, [ANSWER, ANSWER[::-1]]))
    reviewer = assign_reviewer(api, posting_of(api, target))
    return {"target": target, "reviewer": reviewer}


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_only_reviewers_and_admins_sign_in_and_changes_need_the_csrf_token(
    api: Api, reviewed: dict[str, Any]
) -> None:
    target: StreamTarget = reviewed["target"]
    client = httpx.Client(base_url=api.url, timeout=30)
    form = client.get("/review/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    for who in (target.candidate, api.make_user(Role.PROCTOR)):
        sent = {"email": who.email, "password": who.password, "csrf_token": token.group(1)}
        refused = client.post("/review/sign-in", data=sent)
        assert refused.status_code == 403
        assert "Only reviewers and admins can use the review page" in refused.text
        assert "ik_review" not in refused.headers.get("set-cookie", "")
    forged = client.post("/review/sign-in", data={
        "email": reviewed["reviewer"].email, "password": reviewed["reviewer"].password,
        "csrf_token": "guessed"})  # fmt: skip
    assert forged.status_code == 403

    browser = signed_in_page(api, reviewed["reviewer"], "review")
    page = browser.get(f"/review/interviews/{target.interview_id}")
    assert page.status_code == 200
    # This server has no speech-to-text model: the page says so instead of a transcript.
    assert "Transcripts are off on this server" in page.text
    csrf = csrf_of(page)
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    path = f"/review/interviews/{target.interview_id}/review"
    body = {"ratings": [{"question_index": 0, "rating": 4}]}
    assert browser.put(path, json=body).status_code == 403
    assert browser.put(path, json=body, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    saved = browser.put(path, json=body, headers={"X-CSRF-Token": csrf})
    assert saved.status_code == 200, saved.text
    assert saved.json()["mine"]["ratings"][0]["rating"] == 4
    # The console's cookie is not the review page's, nor the other way round.
    assert browser.get("/console").headers.get("location") == "/console/sign-in"
    # The list with its filters as the form sends them, and the posting's CSV from there.
    posting = posting_of(api, target)
    listed = browser.get(f"/review?posting={posting}&status=&sort=newest")
    assert listed.status_code == 200
    assert f'href="/review/postings/{posting}/reviews.csv"' in listed.text
    exported = browser.get(f"/review/postings/{posting}/reviews.csv")
    assert exported.status_code == 200 and target.interview_id in exported.text
    assert "/reviews.csv" not in browser.get("/review?posting=&status=").text  # all postings
    out = browser.post("/review/sign-out", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert browser.get("/review").headers.get("location") == "/review/sign-in"


def test_every_review_route_answers_each_caller(api: Api, reviewed: dict[str, Any]) -> None:
    target: StreamTarget = reviewed["target"]
    interview = target.interview_id
    callers: dict[str, Actor | None] = {
        "anonymous": None,
        "candidate": target.candidate,
        "proctor": api.make_user(Role.PROCTOR),
        "outsider": api.make_user(Role.REVIEWER),
        "reviewer": reviewed["reviewer"],
        "admin": api.make_user(Role.ADMIN),
    }
    # Scripts may call the data routes with a bearer token (no CSRF: no ambient authority).
    routes = [
        ("GET", f"/review/interviews/{interview}/questions/0/answer", None,
         [401, 403, 403, 403, 200, 200]),
        ("PUT", f"/review/interviews/{interview}/review", {"ratings": []},
         [401, 403, 403, 403, 200, 200]),
        ("POST", f"/review/interviews/{interview}/share-links", {"days": 1},
         [401, 403, 403, 403, 200, 200]),
        ("POST", f"/review/share-links/{uuid.uuid4()}/revoke", None,
         [401, 403, 403, 404, 404, 404]),
        ("GET", f"/review/postings/{posting_of(api, target)}/reviews.csv", None,
         [401, 403, 403, 403, 200, 200]),
    ]  # fmt: skip
    for method, path, body, statuses in routes:
        for (name, who), status in zip(callers.items(), statuses, strict=True):
            response = api.request(method, path, who, json=body)
            assert response.status_code == status, (name, path, response.text)
    # The pages sign in with a cookie: without one they send the browser to sign in.
    for path in ("/review", f"/review/interviews/{interview}"):
        response = httpx.get(api.url + path)
        assert (response.status_code, response.headers["location"]) == (303, "/review/sign-in")
    # Signed in, a reviewer of another posting gets a page saying so, and an empty list.
    browser = signed_in_page(api, callers["outsider"], "review")  # type: ignore[arg-type]
    page = browser.get(f"/review/interviews/{interview}")
    assert page.status_code == 403
    assert "reviewers assigned" in page.text
    assert "No completed interviews to review yet" in browser.get("/review").text
    missing = browser.get("/review/interviews/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert browser.get("/review/interviews/not-a-uuid").status_code == 422
    # The filter form sends every field, empty for "all"; what it could not send is ignored.
    for query, status in [
        ("posting=&status=&sort=newest", 200),
        ("status=bogus", 200),
        ("sort=bogus", 200),
        ("posting=not-a-uuid", 200),
        ("status=" + "x" * 33, 422),  # past any form's value
    ]:
        assert browser.get(f"/review?{query}").status_code == status, query


def test_every_review_route_is_covered() -> None:
    from fastapi.routing import APIRoute

    from backend.app.web.review import router

    routes = {
        (method, route.path) for route in router.routes if isinstance(route, APIRoute)
        for method in route.methods
    }  # fmt: skip
    assert routes == {
        ("GET", "/review"), ("GET", "/review/sign-in"), ("POST", "/review/sign-in"),
        ("POST", "/review/sign-out"), ("GET", "/review/interviews/{interview_id}"),
        ("GET", "/review/interviews/{interview_id}/questions/{index}/answer"),
        ("PUT", "/review/interviews/{interview_id}/review"),
        ("POST", "/review/interviews/{interview_id}/share-links"),
        ("POST", "/review/share-links/{link_id}/revoke"),
        ("GET", "/review/postings/{posting_id}/reviews.csv"),
    }  # fmt: skip


def test_the_player_gets_the_answer_by_range_and_each_listen_is_audited(
    api: Api, reviewed: dict[str, Any]
) -> None:
    target: StreamTarget = reviewed["target"]
    reviewer: Actor = reviewed["reviewer"]
    path = f"/review/interviews/{target.interview_id}/questions/1/answer"
    whole = api.request("GET", path, reviewer)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.content[44:] == ANSWER[::-1]
    part = api.request("GET", path, reviewer, headers={"Range": "bytes=1044-2043"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1044-2043/{44 + len(ANSWER)}"
    assert part.content == ANSWER[::-1][1000:2000]
    too_far = api.request("GET", path, reviewer, headers={"Range": "bytes=999999-"})
    assert too_far.status_code == 416
    api.request("GET", path, reviewer, headers={"Range": "bytes=0-"})  # a second listen

    admin = api.make_user(Role.ADMIN)
    activity_path = f"/api/v1/interviews/{target.interview_id}/review-activity"
    api.request("PUT", f"/api/v1/interviews/{target.interview_id}/review", reviewer,
                json={"ratings": [{"question_index": 1, "rating": 2}]})  # fmt: skip
    activity = api.request("GET", activity_path, admin)
    assert activity.status_code == 200, activity.text
    seen = [(a["action"], a["actor_email"], a["details"]) for a in activity.json()]
    # The whole file and the range from 0 are listens; a seek mid-way is not.
    assert seen == [
        ("answer_played", reviewer.email, {"question_index": 1}),
        ("answer_played", reviewer.email, {"question_index": 1}),
        ("review_saved", reviewer.email, {"ratings": {"1": 2}, "recommendation": None}),
    ]
    assert api.request("GET", activity_path, reviewer).status_code == 403
