"""Whether the kiosk reads a posting's questions aloud (issue 15), over real HTTP: true unless an
admin turns it off on create or patch, kept by patches of other fields, refused with a 422 naming
the field when null or not a boolean, documented in OpenAPI, and handed to the kiosk in the start
answer of an interview planned for the posting. The migration that adds it keeps existing
postings reading aloud and comes back out cleanly."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from test_posting_rules import _create, _listed, _patch

from backend.app.core.config import Settings
from backend.app.core.db import create_engine
from backend.app.core.migrate import alembic_config, upgrade_to_head
from support.api import Actor, Api, World

POSTINGS = "/api/v1/job-postings"
START = "/api/v1/interviews/start"
FIELD = "read_questions_aloud"


def test_a_posting_created_without_the_setting_reads_questions_aloud(
    shared_api: Api, shared_world: World
) -> None:
    created = _create(shared_api, shared_world)
    assert created[FIELD] is True
    assert _listed(shared_api, shared_world, created["id"])[FIELD] is True


@pytest.mark.parametrize("value", [False, True])
def test_a_posting_keeps_the_setting_it_was_created_with(
    shared_api: Api, shared_world: World, value: bool
) -> None:
    created = _create(shared_api, shared_world, **{FIELD: value})
    assert created[FIELD] is value
    assert _listed(shared_api, shared_world, created["id"])[FIELD] is value


def test_patch_turns_reading_aloud_off_and_on_again(shared_api: Api, shared_world: World) -> None:
    created = _create(shared_api, shared_world)
    off = _patch(shared_api, shared_world, created["id"], **{FIELD: False})
    assert off[FIELD] is False
    assert _listed(shared_api, shared_world, created["id"])[FIELD] is False
    on = _patch(shared_api, shared_world, created["id"], **{FIELD: True})
    assert on[FIELD] is True
    assert _listed(shared_api, shared_world, created["id"])[FIELD] is True


@pytest.mark.parametrize(
    "change",
    [{"title": "Senior Engineer"}, {"takes": 2, "think_seconds": None}],
    ids=["title", "rules"],
)
def test_patch_of_other_fields_leaves_the_setting_as_it_was(
    shared_api: Api, shared_world: World, change: dict[str, Any]
) -> None:
    created = _create(shared_api, shared_world, **{FIELD: False})
    patched = _patch(shared_api, shared_world, created["id"], **change)
    assert {name: patched[name] for name in change} == change
    assert patched[FIELD] is False
    assert _listed(shared_api, shared_world, created["id"])[FIELD] is False


def test_patch_with_null_is_422_naming_the_field_and_changes_nothing(
    shared_api: Api, shared_world: World
) -> None:
    created = _create(shared_api, shared_world, **{FIELD: False})
    refused = shared_api.request(
        "PATCH", f"{POSTINGS}/{created['id']}", shared_world.admin, json={FIELD: None}
    )
    assert refused.status_code == 422, refused.text
    assert f"{FIELD} cannot be null" in refused.text
    assert _listed(shared_api, shared_world, created["id"]) == created


def test_create_with_null_is_422_naming_the_field(shared_api: Api, shared_world: World) -> None:
    refused = shared_api.request(
        "POST", POSTINGS, shared_world.admin, json={"title": "T", "company": "C", FIELD: None}
    )
    assert refused.status_code == 422, refused.text
    errors = refused.json()["detail"]
    assert errors and all(error["loc"][:2] == ["body", FIELD] for error in errors), errors


# Each of these a lax reading would take for a boolean (or a number would pass as one).
NOT_BOOLEANS = ["yes", "true", "false", "on", 2, 1, 0, 1.0, [], {}]
NOT_BOOLEAN_IDS = [
    "yes", "string true", "string false", "on", "2", "1", "0", "1.0", "list", "object"
]  # fmt: skip


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("value", NOT_BOOLEANS, ids=NOT_BOOLEAN_IDS)
def test_a_value_that_is_not_a_boolean_is_422_naming_the_field(
    shared_api: Api, shared_world: World, method: str, value: object
) -> None:
    if method == "POST":
        path, body = POSTINGS, {"title": "T", "company": "C", FIELD: value}
    else:
        path, body = f"{POSTINGS}/{shared_world.posting['id']}", {FIELD: value}
    before = _listed(shared_api, shared_world, shared_world.posting["id"])
    response = shared_api.request(method, path, shared_world.admin, json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert errors and all(error["loc"][:2] == ["body", FIELD] for error in errors), errors
    assert _listed(shared_api, shared_world, shared_world.posting["id"]) == before


@pytest.mark.parametrize("caller", ["owner", "proctor"])
def test_only_admins_change_the_setting(shared_api: Api, shared_world: World, caller: str) -> None:
    who: Actor = getattr(shared_world, caller)
    created = shared_api.request(
        "POST", POSTINGS, who, json={"title": "T", "company": "C", FIELD: False}
    )
    assert created.status_code == 403, created.text
    posting_id = shared_world.posting["id"]
    before = _listed(shared_api, shared_world, posting_id)
    patched = shared_api.request("PATCH", f"{POSTINGS}/{posting_id}", who, json={FIELD: False})
    assert patched.status_code == 403, patched.text
    assert _listed(shared_api, shared_world, posting_id) == before


def test_openapi_documents_the_setting_with_examples(shared_api: Api) -> None:
    schemas = shared_api.request("GET", "/openapi.json").json()["components"]["schemas"]
    for name in ("JobPostingCreate", "JobPostingUpdate", "JobPostingRead"):
        assert "aloud" in schemas[name]["properties"][FIELD]["description"], name
    create = schemas["JobPostingCreate"]
    assert create["properties"][FIELD]["default"] is True
    assert FIELD not in create.get("required", [])
    assert any(example.get(FIELD) is False for example in create["examples"])
    assert {FIELD: False} in schemas["JobPostingUpdate"]["examples"]
    assert FIELD in schemas["JobPostingRead"]["required"]
    assert all(FIELD in example for example in schemas["JobPostingRead"]["examples"])
    start = schemas["InterviewStartResponse"]
    assert "aloud" in start["properties"][FIELD]["description"]
    assert start["properties"][FIELD]["type"] == "boolean"
    assert FIELD in start["required"]
    assert all(isinstance(example[FIELD], bool) for example in start["examples"])


def _start_for_posting(api: Api, candidate: Actor, posting: dict[str, Any]) -> dict[str, Any]:
    application = api.request(
        "POST", "/api/v1/applications", candidate, json={"job_posting_id": posting["id"]}
    )
    assert application.status_code == 201, application.text
    started = api.request(
        "POST", START, candidate, json={"application_id": application.json()["id"]}
    )
    assert started.status_code == 201, started.text
    return dict(started.json())


@pytest.mark.parametrize("value", [True, False])
def test_the_start_answer_carries_the_postings_setting(
    shared_api: Api, shared_world: World, value: bool
) -> None:
    posting = _create(shared_api, shared_world, **{FIELD: value})
    started = _start_for_posting(shared_api, shared_world.owner, posting)
    assert started["job_posting_id"] == posting["id"]
    # At the top level, beside the interview's fields, first_question and ws_url.
    assert started[FIELD] is value
    assert FIELD not in started["first_question"]


def test_the_start_answer_has_the_setting_as_it_was_when_planned(
    shared_api: Api, shared_world: World
) -> None:
    posting = _create(shared_api, shared_world)
    before = _start_for_posting(shared_api, shared_world.owner, posting)
    _patch(shared_api, shared_world, posting["id"], **{FIELD: False})
    after = _start_for_posting(shared_api, shared_world.other, posting)
    assert (before[FIELD], after[FIELD]) == (True, False)


def test_a_practice_interview_reads_its_questions_aloud(
    shared_api: Api, shared_world: World
) -> None:
    started = shared_api.request("POST", START, shared_world.owner, json={"role_type": "python"})
    assert started.status_code == 201, started.text
    assert started.json()["job_posting_id"] is None
    assert started.json()[FIELD] is True


# --- the migration ---------------------------------------------------------------------------

_POSTINGS_TABLE = sa.table(
    "job_postings",
    sa.column("id", sa.Uuid()),
    sa.column("title", sa.String()),
    sa.column("company", sa.String()),
    sa.column("description", sa.Text()),
    sa.column("tech_stack", sa.JSON()),
    sa.column("required_skills", sa.JSON()),
    sa.column("status", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _run(settings: Settings, work: Any) -> Any:
    """``work(connection)`` on a sync connection to the test's database, committed."""

    async def run() -> Any:
        engine = create_engine(settings)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _posting_columns(settings: Settings) -> set[str]:
    return _run(
        settings,
        lambda sync: {column["name"] for column in sa.inspect(sync).get_columns("job_postings")},
    )


def test_the_migration_keeps_existing_postings_reading_aloud_and_comes_back_out(
    backend_settings: Settings,
) -> None:
    config = alembic_config(backend_settings)
    command.upgrade(config, "0005")
    assert FIELD not in _posting_columns(backend_settings)
    posting_id = uuid.uuid4()
    _run(
        backend_settings,
        lambda sync: sync.execute(
            _POSTINGS_TABLE.insert().values(
                id=posting_id, title="Engineer", company="Fabrikam", description="",
                tech_stack=[], required_skills=[], status="active", created_at=datetime.now(UTC),
            )
        ),
    )  # fmt: skip

    command.upgrade(config, "0006")
    column = sa.column(FIELD, sa.Boolean())
    read_back = _run(
        backend_settings,
        lambda sync: sync.execute(
            sa.select(column).select_from(_POSTINGS_TABLE).where(_POSTINGS_TABLE.c.id == posting_id)
        ).scalar_one(),
    )
    assert read_back is True

    command.downgrade(config, "0005")
    assert FIELD not in _posting_columns(backend_settings)
    upgrade_to_head(backend_settings)  # and up again, to the newest schema
    assert FIELD in _posting_columns(backend_settings)
