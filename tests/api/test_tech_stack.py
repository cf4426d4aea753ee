"""A posting's ``tech_stack`` as the seed sends it: one technology as a string, a list, or null
for none. It is always answered as a list, and each technology steers the interview's role and
questions."""

from __future__ import annotations

from typing import Any

import pytest

from backend.app.models import JobPosting
from backend.app.services.catalog import Catalog
from support.api import ADMIN_ONLY_FIELDS, Api, World

POSTINGS = "/api/v1/job-postings"

# (sent, answered)
ONE_MANY_OR_NONE = [
    ("typescript", ["typescript"]),
    (["React", "TypeScript"], ["React", "TypeScript"]),
    (None, []),
    ([], []),
]
IDS = ["string", "list", "null", "empty list"]


def _create(api: Api, world: World, **fields: Any) -> dict[str, Any]:
    response = api.request(
        "POST", POSTINGS, world.admin, json={"title": "Engineer", "company": "Fabrikam", **fields}
    )
    assert response.status_code == 201, response.text
    # As the candidates' list shows it: the hiring team's settings are for admins only.
    return {k: v for k, v in response.json().items() if k not in ADMIN_ONLY_FIELDS}


def _listed(api: Api, world: World, posting_id: str) -> dict[str, Any]:
    listed = api.request("GET", POSTINGS, world.owner).json()
    return dict(next(p for p in listed if p["id"] == posting_id))


@pytest.mark.parametrize(("sent", "answered"), ONE_MANY_OR_NONE, ids=IDS)
def test_create_takes_one_technology_a_list_or_none_and_answers_a_list(
    shared_api: Api, shared_world: World, sent: object, answered: list[str]
) -> None:
    created = _create(shared_api, shared_world, tech_stack=sent)
    assert created["tech_stack"] == answered
    assert _listed(shared_api, shared_world, created["id"])["tech_stack"] == answered


def test_a_posting_created_without_a_tech_stack_has_none(
    shared_api: Api, shared_world: World
) -> None:
    created = _create(shared_api, shared_world)
    assert created["tech_stack"] == []


@pytest.mark.parametrize(("sent", "answered"), ONE_MANY_OR_NONE, ids=IDS)
def test_patch_takes_one_technology_a_list_or_none(
    shared_api: Api, shared_world: World, sent: object, answered: list[str]
) -> None:
    created = _create(shared_api, shared_world, tech_stack=["Go", "Kubernetes"])
    patched = shared_api.request(
        "PATCH", f"{POSTINGS}/{created['id']}", shared_world.admin, json={"tech_stack": sent}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["tech_stack"] == answered
    assert _listed(shared_api, shared_world, created["id"])["tech_stack"] == answered


def test_patch_without_tech_stack_leaves_it_as_it_was(shared_api: Api, shared_world: World) -> None:
    created = _create(shared_api, shared_world, tech_stack="go")
    patched = shared_api.request(
        "PATCH", f"{POSTINGS}/{created['id']}", shared_world.admin, json={"title": "Go Engineer"}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["tech_stack"] == ["go"]
    assert patched.json()["title"] == "Go Engineer"


@pytest.mark.parametrize(
    "sent",
    ["", "   ", [""], "x" * 51, ["go"] * 31, 42, {"name": "go"}, [["go"]], True],
    ids=["empty", "blank", "empty item", "too long", "too many", "number", "object", "nested",
         "bool"],
)  # fmt: skip
def test_a_tech_stack_that_is_no_technology_is_422(
    shared_api: Api, shared_world: World, sent: object
) -> None:
    response = shared_api.request(
        "POST",
        POSTINGS,
        shared_world.admin,
        json={"title": "T", "company": "C", "tech_stack": sent},
    )
    assert response.status_code == 422, response.text
    assert all(error["loc"][:2] == ["body", "tech_stack"] for error in response.json()["detail"])


def test_an_application_reads_a_string_tech_stack_as_a_list(
    shared_api: Api, shared_world: World
) -> None:
    posting = _create(shared_api, shared_world, tech_stack="typescript")
    applied = shared_api.request(
        "POST", "/api/v1/applications", shared_world.other, json={"job_posting_id": posting["id"]}
    )
    assert applied.status_code == 201, applied.text
    assert applied.json()["tech_stack"] == ["typescript"]
    mine = shared_api.request("GET", "/api/v1/applications", shared_world.other).json()
    assert next(a for a in mine if a["id"] == applied.json()["id"])["tech_stack"] == ["typescript"]


def _interview_for_posting(api: Api, world: World, route: str, posting: dict[str, Any]) -> Any:
    """Apply as the world's owner, start or plan the interview, and read it back."""
    application = api.request(
        "POST", "/api/v1/applications", world.owner, json={"job_posting_id": posting["id"]}
    ).json()
    made = api.request(
        "POST", f"/api/v1/interviews/{route}", world.owner,
        json={"application_id": application["id"]},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    interview_id = made.json()["id" if route == "start" else "interview_id"]
    return api.request("GET", f"/api/v1/interviews/{interview_id}", world.owner).json()


@pytest.mark.parametrize("route", ["start", "plan"])
@pytest.mark.parametrize(
    ("tech_stack", "role_category", "technology"),
    [
        ("typescript", None, "typescript"),  # the seed's form: one technology as a string
        ("Rust", "Sales", "rust"),  # the technology wins over the category
        (["COBOL", "Go"], None, "go"),  # each item is a technology: the first known one leads
    ],
    ids=["string", "string over category", "list"],
)
def test_an_interview_for_a_posting_asks_about_its_technology(
    shared_api: Api,
    shared_world: World,
    route: str,
    tech_stack: object,
    role_category: str | None,
    technology: str,
) -> None:
    posting = _create(shared_api, shared_world, tech_stack=tech_stack, role_category=role_category)
    interview = _interview_for_posting(shared_api, shared_world, route, posting)
    assert interview["role_type"] == technology
    assert interview["job_posting_id"] == posting["id"]
    assert len(interview["questions"]) == 5
    assert all(technology in question["skills"] for question in interview["questions"])


@pytest.mark.parametrize("route", ["start", "plan"])
def test_an_interview_for_a_posting_with_no_tech_stack_follows_its_category(
    shared_api: Api, shared_world: World, route: str
) -> None:
    posting = _create(shared_api, shared_world, tech_stack=None, role_category="Sales")
    interview = _interview_for_posting(shared_api, shared_world, route, posting)
    assert interview["role_type"] == "sales"
    sales_bank = {q.text for q in Catalog.load().questions.questions if q.role_type == "sales"}
    assert {question["text"] for question in interview["questions"]} <= sales_bank
    assert len(interview["questions"]) == 5


@pytest.mark.parametrize(("given", "stored"), ONE_MANY_OR_NONE, ids=IDS)
def test_the_model_keeps_a_list_whoever_writes_it(given: object, stored: list[str]) -> None:
    # The demo seed and the CLI build postings without the API's schema.
    assert JobPosting(title="T", company="C", tech_stack=given).tech_stack == stored


@pytest.mark.parametrize("field", ["title", "company", "description", "required_skills", "status"])
def test_patch_with_null_for_a_field_a_posting_needs_is_422_and_changes_nothing(
    shared_api: Api, shared_world: World, field: str
) -> None:
    created = _create(shared_api, shared_world, tech_stack="go")
    patched = shared_api.request(
        "PATCH", f"{POSTINGS}/{created['id']}", shared_world.admin, json={field: None}
    )
    assert patched.status_code == 422, patched.text  # it was a 500 (NOT NULL) before
    assert f"{field} cannot be null" in patched.text
    assert _listed(shared_api, shared_world, created["id"]) == created
