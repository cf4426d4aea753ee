"""A posting's interview rules (issue 14) over real HTTP: think time, answer time and takes, with
overrides per planned question. Set by admins on create and patch, answered back as stored,
refused with a 422 naming the field when out of bounds, documented in OpenAPI, and copied onto
the questions of an interview planned for an application to the posting."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from backend.app.core.db import create_engine, create_sessionmaker
from backend.app.models import PlannedQuestion
from support.api import ADMIN_ONLY_FIELDS, Actor, Api, World

POSTINGS = "/api/v1/job-postings"
RULES = ("think_seconds", "answer_seconds", "takes", "question_rules")
DEFAULTS = {"think_seconds": 30, "answer_seconds": 180, "takes": 1, "question_rules": []}
SUPPORT_POSTING = {
    "title": "Support Engineer",
    "company": "Contoso",
    "think_seconds": 5,
    "answer_seconds": 60,
    "takes": 2,
    # Question 0: unlimited thinking (null), three takes; question 1: a longer answer;
    # question 2: answer at once. Every key left out is the posting's.
    "question_rules": [
        {"index": 0, "think_seconds": None, "takes": 3},
        {"index": 1, "answer_seconds": 300},
        {"index": 2, "think_seconds": 0},
    ],
}


def _rules(posting: dict[str, Any]) -> dict[str, Any]:
    return {name: posting[name] for name in RULES}


def _create(api: Api, world: World, **fields: Any) -> dict[str, Any]:
    response = api.request(
        "POST", POSTINGS, world.admin, json={"title": "Engineer", "company": "Fabrikam", **fields}
    )
    assert response.status_code == 201, response.text
    # As the candidates' list shows it: the hiring team's settings are for admins only.
    return {k: v for k, v in response.json().items() if k not in ADMIN_ONLY_FIELDS}


def _patch(api: Api, world: World, posting_id: str, **fields: Any) -> dict[str, Any]:
    response = api.request("PATCH", f"{POSTINGS}/{posting_id}", world.admin, json=fields)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _listed(api: Api, world: World, posting_id: str) -> dict[str, Any]:
    listed = api.request("GET", POSTINGS, world.owner).json()
    return dict(next(p for p in listed if p["id"] == posting_id))


def test_a_posting_created_without_rules_has_the_defaults(
    shared_api: Api, shared_world: World
) -> None:
    created = _create(shared_api, shared_world)
    assert _rules(created) == DEFAULTS
    assert _rules(_listed(shared_api, shared_world, created["id"])) == DEFAULTS


def test_a_posting_keeps_every_rule_it_was_created_with(
    shared_api: Api, shared_world: World
) -> None:
    created = _create(shared_api, shared_world, **SUPPORT_POSTING)
    expected = _rules(SUPPORT_POSTING)
    # Each override comes back with only the keys sent: null (unlimited) is not absent (inherit).
    assert _rules(created) == expected
    assert _rules(_listed(shared_api, shared_world, created["id"])) == expected


def test_a_posting_may_let_candidates_think_without_limit(
    shared_api: Api, shared_world: World
) -> None:
    created = _create(shared_api, shared_world, think_seconds=None)
    assert created["think_seconds"] is None
    assert _listed(shared_api, shared_world, created["id"])["think_seconds"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("think_seconds", 0),
        ("think_seconds", 900),
        ("answer_seconds", 5),
        ("answer_seconds", 900),
        ("takes", 3),
        ("question_rules", [{"index": 4, "answer_seconds": 45, "takes": 1}]),
        ("question_rules", []),
    ],
    ids=["think 0", "think 900", "answer 5", "answer 900", "takes 3", "override", "no overrides"],
)
def test_patch_changes_one_rule_and_keeps_the_others(
    shared_api: Api, shared_world: World, field: str, value: object
) -> None:
    created = _create(shared_api, shared_world, **SUPPORT_POSTING)
    patched = _patch(shared_api, shared_world, created["id"], **{field: value})
    expected = _rules(SUPPORT_POSTING) | {field: value}
    assert _rules(patched) == expected
    assert _rules(_listed(shared_api, shared_world, created["id"])) == expected


def test_patch_with_null_think_seconds_makes_thinking_unlimited(
    shared_api: Api, shared_world: World
) -> None:
    created = _create(shared_api, shared_world, **SUPPORT_POSTING)
    patched = _patch(shared_api, shared_world, created["id"], think_seconds=None)
    assert patched["think_seconds"] is None
    assert _listed(shared_api, shared_world, created["id"])["think_seconds"] is None
    assert _rules(patched) == _rules(SUPPORT_POSTING) | {"think_seconds": None}


def test_patch_without_rules_leaves_them_as_they_were(shared_api: Api, shared_world: World) -> None:
    created = _create(shared_api, shared_world, **SUPPORT_POSTING)
    patched = _patch(shared_api, shared_world, created["id"], title="Senior Support Engineer")
    assert patched["title"] == "Senior Support Engineer"
    assert _rules(patched) == _rules(SUPPORT_POSTING)
    assert _rules(_listed(shared_api, shared_world, created["id"])) == _rules(SUPPORT_POSTING)


def test_patched_overrides_keep_null_apart_from_absent(
    shared_api: Api, shared_world: World
) -> None:
    created = _create(shared_api, shared_world)
    overrides = [{"index": 1, "think_seconds": None}, {"index": 3, "takes": 2}]
    patched = _patch(shared_api, shared_world, created["id"], question_rules=overrides)
    assert patched["question_rules"] == overrides
    assert _listed(shared_api, shared_world, created["id"])["question_rules"] == overrides


@pytest.mark.parametrize("field", ["answer_seconds", "takes", "question_rules"])
def test_patch_with_null_for_a_rule_that_needs_a_value_is_422_and_changes_nothing(
    shared_api: Api, shared_world: World, field: str
) -> None:
    created = _create(shared_api, shared_world, **SUPPORT_POSTING)
    patched = shared_api.request(
        "PATCH", f"{POSTINGS}/{created['id']}", shared_world.admin, json={field: None}
    )
    assert patched.status_code == 422, patched.text
    assert f"{field} cannot be null" in patched.text
    assert _listed(shared_api, shared_world, created["id"]) == created


# (field, value sent): each out of bounds or malformed.
BAD_RULES = [
    ("think_seconds", -1),
    ("think_seconds", 901),
    ("answer_seconds", 4),
    ("answer_seconds", 901),
    ("answer_seconds", -30),
    ("takes", 0),
    ("takes", 4),
    ("takes", True),  # not read as 1 take
    ("think_seconds", "30"),
    ("question_rules", [{"index": 2, "takes": 2}, {"index": 2, "answer_seconds": 60}]),
    ("question_rules", [{"index": 0, "takes": 4}]),
    ("question_rules", [{"index": 0, "think_seconds": -1}]),
    ("question_rules", [{"index": 0, "answer_seconds": 901}]),
    ("question_rules", [{"index": 0, "answer_seconds": None}]),
    ("question_rules", [{"index": 0, "takes": None}]),
    ("question_rules", [{"index": 0, "extra_seconds": 30}]),
    ("question_rules", [{"takes": 2}]),
    ("question_rules", [{"index": -1, "takes": 2}]),
    ("question_rules", [{"index": 50, "takes": 2}]),
    ("question_rules", [{"index": index} for index in range(51)]),
]
BAD_IDS = [
    "think -1", "think 901", "answer 4", "answer 901", "answer negative", "takes 0", "takes 4",
    "takes true", "think as a string", "duplicate index", "override takes 4",
    "override think -1", "override answer 901", "override answer null", "override takes null",
    "override unknown key", "override without index", "override index -1", "override index 50",
    "51 overrides",
]  # fmt: skip


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize(("field", "value"), BAD_RULES, ids=BAD_IDS)
def test_a_rule_out_of_bounds_is_422_naming_the_field(
    shared_api: Api, shared_world: World, method: str, field: str, value: object
) -> None:
    if method == "POST":
        path, body = POSTINGS, {"title": "T", "company": "C", field: value}
    else:
        path, body = f"{POSTINGS}/{shared_world.posting['id']}", {field: value}
    response = shared_api.request(method, path, shared_world.admin, json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert errors and all(error["loc"][:2] == ["body", field] for error in errors), errors


def test_a_refused_patch_leaves_the_rules_as_they_were(
    shared_api: Api, shared_world: World
) -> None:
    created = _create(shared_api, shared_world, **SUPPORT_POSTING)
    refused = shared_api.request(
        "PATCH", f"{POSTINGS}/{created['id']}", shared_world.admin,
        json={"think_seconds": 10, "takes": 4},
    )  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert _listed(shared_api, shared_world, created["id"]) == created


@pytest.mark.parametrize("caller", ["owner", "proctor"])
def test_only_admins_set_rules(shared_api: Api, shared_world: World, caller: str) -> None:
    who: Actor = getattr(shared_world, caller)
    created = shared_api.request(
        "POST", POSTINGS, who, json={"title": "T", "company": "C", "takes": 2}
    )
    assert created.status_code == 403, created.text
    posting_id = shared_world.posting["id"]
    before = _listed(shared_api, shared_world, posting_id)
    patched = shared_api.request(
        "PATCH", f"{POSTINGS}/{posting_id}", who, json={"takes": 3, "think_seconds": None}
    )
    assert patched.status_code == 403, patched.text
    assert _listed(shared_api, shared_world, posting_id) == before


def test_openapi_documents_the_rules_with_examples(shared_api: Api) -> None:
    schemas = shared_api.request("GET", "/openapi.json").json()["components"]["schemas"]
    for name in ("JobPostingCreate", "JobPostingUpdate", "JobPostingRead"):
        properties = schemas[name]["properties"]
        assert set(RULES) <= set(properties), name
        assert all(properties[rule].get("description") for rule in RULES), name
    create = schemas["JobPostingCreate"]
    assert any("think_seconds" in example for example in create["examples"])
    assert any(example.get("question_rules") for example in create["examples"])
    think = create["properties"]["think_seconds"]
    assert think["default"] == 30
    # Object examples lose their nulls in FastAPI's document: unlimited is shown here instead.
    assert None in think["examples"] and "null is unlimited" in think["description"]
    override = schemas["QuestionRuleOverride"]
    assert override["additionalProperties"] is False
    assert override["required"] == ["index"]
    assert None in override["properties"]["think_seconds"]["examples"]
    assert override["examples"]


def _planned_rules(api: Api, interview_id: str) -> list[tuple[int | None, int, int]]:
    """(think, answer, takes) of each planned question in order, from the server's database."""

    async def read() -> list[tuple[int | None, int, int]]:
        engine = create_engine(api.server.settings)
        try:
            async with create_sessionmaker(engine)() as session:
                questions = await session.scalars(
                    select(PlannedQuestion)
                    .where(PlannedQuestion.interview_id == uuid.UUID(interview_id))
                    .order_by(PlannedQuestion.index)
                )
                return [(q.think_seconds, q.answer_seconds, q.takes) for q in questions]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _start_for_posting(api: Api, candidate: Actor, posting: dict[str, Any]) -> str:
    application = api.request(
        "POST", "/api/v1/applications", candidate, json={"job_posting_id": posting["id"]}
    )
    assert application.status_code == 201, application.text
    started = api.request(
        "POST", "/api/v1/interviews/start", candidate,
        json={"application_id": application.json()["id"]},
    )  # fmt: skip
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def test_an_interview_for_the_posting_plans_each_question_with_its_rules(
    shared_api: Api, shared_world: World
) -> None:
    posting = _create(shared_api, shared_world, **SUPPORT_POSTING)
    interview_id = _start_for_posting(shared_api, shared_world.owner, posting)
    planned = _planned_rules(shared_api, interview_id)
    assert len(planned) == 5
    assert planned == [
        (None, 60, 3),  # override: unlimited thinking, three takes
        (5, 300, 2),  # override: a longer answer
        (0, 60, 2),  # override: answer at once
        (5, 60, 2),  # the posting's
        (5, 60, 2),
    ]


def test_an_interview_for_a_posting_without_rules_plans_the_defaults(
    shared_api: Api, shared_world: World
) -> None:
    posting = _create(shared_api, shared_world)
    interview_id = _start_for_posting(shared_api, shared_world.other, posting)
    assert _planned_rules(shared_api, interview_id) == [(30, 180, 1)] * 5
