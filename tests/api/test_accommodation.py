"""Extra time granted by the proctor at launch (issue 14), over real HTTP: carried by the
session token, audited, and recorded on the interview the candidate starts with that token,
with the proctor who granted it.

How the granted time stretches the think and answer limits is the rules' business, proven
with the rules; here only that the grant arrives where those rules read it.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from backend.app.core.db import create_engine, create_sessionmaker
from backend.app.core.security import decode_token
from backend.app.models import AuditEntry, Interview
from backend.app.models.enums import Accommodation
from backend.app.services import messages
from support.api import Actor, Api, World

LAUNCH = "/api/v1/proctor/sessions"
START = "/api/v1/interviews/start"


def _launch(api: Api, proctor: Actor | str, candidate: Actor, **extra: Any) -> dict[str, Any]:
    # A kiosk id of its own, so this launch's audit entry is told apart on a shared server.
    body = {"candidate_email": candidate.email, "kiosk_id": f"kiosk-{uuid.uuid4().hex[:8]}"}
    launched = api.request("POST", LAUNCH, proctor, json=body | extra)
    assert launched.status_code == 201, launched.text
    return {"kiosk_id": body["kiosk_id"]} | dict(launched.json())


def _launch_entries(api: Api, kiosk_id: str) -> list[AuditEntry]:
    """The ``session_launched`` audit entries for one kiosk, read from the server's database."""

    async def read() -> list[AuditEntry]:
        engine = create_engine(api.server.settings)
        try:
            async with create_sessionmaker(engine)() as session:
                launches = await session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "session_launched")
                )
                return [entry for entry in launches if entry.details.get("kiosk_id") == kiosk_id]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _interview_row(api: Api, interview_id: str) -> Interview:
    async def read() -> Interview:
        engine = create_engine(api.server.settings)
        try:
            async with create_sessionmaker(engine)() as session:
                interview = await session.get(Interview, uuid.UUID(interview_id))
                assert interview is not None
                return interview
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.mark.parametrize("accommodation", [a.value for a in Accommodation])
def test_each_accommodation_is_echoed_carried_by_the_token_and_audited(
    shared_api: Api, shared_world: World, accommodation: str
) -> None:
    proctor, candidate = shared_world.proctor, shared_world.owner
    launched = _launch(shared_api, proctor, candidate, accommodation=accommodation)
    assert launched["accommodation"] == accommodation

    claims = decode_token(
        shared_api.server.settings.resolved_jwt_secret(), launched["session_token"]
    )
    assert claims.kind == "session"
    assert claims.user_id == candidate.id
    assert claims.proctor_id == proctor.id
    assert claims.accommodation == accommodation

    (entry,) = _launch_entries(shared_api, launched["kiosk_id"])
    assert entry.actor_id == proctor.id
    assert entry.subject_id == str(candidate.id)
    assert entry.details["accommodation"] == accommodation


def test_interview_started_with_the_session_token_records_the_grant_and_its_proctor(
    shared_api: Api, shared_world: World
) -> None:
    launched = _launch(shared_api, shared_world.proctor, shared_world.owner, accommodation="x1.5")
    started = shared_api.request(
        "POST", START, launched["session_token"], json={"role_type": "python"}
    )
    assert started.status_code == 201, started.text

    interview = _interview_row(shared_api, started.json()["id"])
    assert interview.accommodation == "x1.5"
    assert interview.accommodation_granted_by == shared_world.proctor.id
    assert interview.candidate_id == shared_world.owner.id


@pytest.mark.parametrize("extra", [{}, {"accommodation": None}], ids=["omitted", "null"])
def test_launch_without_accommodation_grants_no_extra_time(
    shared_api: Api, shared_world: World, extra: dict[str, Any]
) -> None:
    launched = _launch(shared_api, shared_world.proctor, shared_world.owner, **extra)
    assert launched["accommodation"] is None
    claims = decode_token(
        shared_api.server.settings.resolved_jwt_secret(), launched["session_token"]
    )
    assert claims.accommodation is None
    (entry,) = _launch_entries(shared_api, launched["kiosk_id"])
    assert entry.details["accommodation"] is None

    started = shared_api.request(
        "POST", START, launched["session_token"], json={"role_type": "python"}
    )
    assert started.status_code == 201, started.text
    interview = _interview_row(shared_api, started.json()["id"])
    assert interview.accommodation is None
    assert interview.accommodation_granted_by is None
    assert interview.proctor_id == shared_world.proctor.id  # still a proctor-launched session


@pytest.mark.parametrize("value", ["x3", "1.5", 2, "X1.5", ""])
def test_unknown_accommodation_is_422_naming_the_field(
    shared_api: Api, shared_world: World, value: object
) -> None:
    kiosk_id = f"kiosk-{uuid.uuid4().hex[:8]}"
    response = shared_api.request(
        "POST", LAUNCH, shared_world.proctor,
        json={"candidate_email": shared_world.owner.email, "kiosk_id": kiosk_id,
              "accommodation": value},
    )  # fmt: skip
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [["body", "accommodation"]]
    assert _launch_entries(shared_api, kiosk_id) == []  # nothing launched, nothing audited


def test_a_candidate_cannot_grant_extra_time(shared_api: Api, shared_world: World) -> None:
    own_session = _launch(shared_api, shared_world.proctor, shared_world.owner)["session_token"]
    for token in (shared_world.owner.token, own_session):
        response = shared_api.request(
            "POST", LAUNCH, token,
            json={"candidate_email": shared_world.owner.email, "kiosk_id": "k1",
                  "accommodation": "unlimited"},
        )  # fmt: skip
        assert response.status_code == 403, response.text
        assert response.json() == {"detail": messages.STAFF_ONLY}


def test_openapi_documents_the_accommodation_with_an_example(shared_api: Api) -> None:
    schemas = shared_api.request("GET", "/openapi.json").json()["components"]["schemas"]
    request = schemas["SessionLaunchRequest"]
    field = request["properties"]["accommodation"]
    assert field["description"]
    assert "x1.5" in field["examples"]
    assert {"candidate_email": "ada@example.com", "kiosk_id": "leeds-07",
            "accommodation": "x1.5"} in request["examples"]  # fmt: skip
    assert set(schemas["Accommodation"]["enum"]) == {"x1.25", "x1.5", "x2", "unlimited"}
    assert "accommodation" in schemas["SessionLaunchResponse"]["properties"]
