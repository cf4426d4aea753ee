"""Fixtures for HTTP-level backend tests: a client for the live server and a small world of
accounts, postings and applications built through the API itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.app.models.enums import Role
from support.api import PLATFORM_POSTING, Api, World, serving
from support.settings import settings_for


@pytest.fixture
def world(api: Api) -> World:
    return build_world(api)


@pytest.fixture(scope="module")
def shared_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """One server for a whole module, for tests that only read or add unrelated rows."""
    with serving(settings_for(request, tmp_path_factory.mktemp("data"))) as api:
        yield api


@pytest.fixture(scope="module")
def shared_world(shared_api: Api) -> World:
    return build_world(shared_api)


def build_world(api: Api) -> World:
    admin = api.make_user(Role.ADMIN)
    proctor = api.make_user(Role.PROCTOR)
    owner = api.make_user(Role.CANDIDATE, "Olive Owner")
    other = api.make_user(Role.CANDIDATE, "Oscar Other")
    posting = api.request("POST", "/api/v1/job-postings", admin, json=PLATFORM_POSTING).json()
    closed = api.request(
        "POST", "/api/v1/job-postings", admin,
        json={"title": "Account Executive", "company": "Tailspin", "role_category": "Sales"},
    ).json()  # fmt: skip
    application = api.request(
        "POST", "/api/v1/applications", owner, json={"job_posting_id": posting["id"]}
    ).json()
    other_application = api.request(
        "POST", "/api/v1/applications", other, json={"job_posting_id": posting["id"]}
    ).json()
    # The owner applied to the sales posting while it was open; then it closed.
    closed_application = api.request(
        "POST", "/api/v1/applications", owner, json={"job_posting_id": closed["id"]}
    ).json()
    closed = api.request(
        "PATCH", f"/api/v1/job-postings/{closed['id']}", admin, json={"status": "closed"}
    ).json()
    assert closed["status"] == "closed"
    return World(
        admin, proctor, owner, other, posting, closed, application, other_application,
        extras={"closed_application": closed_application},
    )  # fmt: skip
