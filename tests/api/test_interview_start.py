"""The story "Enhanced Interview Start Endpoint", case by case, over real HTTP; and the
planning service's routes at both paths."""

from __future__ import annotations

import re
import uuid

import pytest

from backend.app.models.enums import Role
from backend.app.services import messages
from support.api import Api, World

START = "/api/v1/interviews/start"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def expected_ws_url(api: Api, interview_id: str) -> str:
    return f"ws://127.0.0.1:{api.server.port}/ws/interviews/{interview_id}"


def test_legacy_flow_with_role_type_only(api: Api, world: World) -> None:
    response = api.request("POST", START, world.owner, json={"role_type": "Python Developer"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["role_type"] == "python"
    assert body["job_posting_id"] is None
    assert body["application_id"] is None
    assert body["status"] == "scheduled"
    assert body["planned_question_count"] == 5
    assert body["first_question"]["index"] == 0
    assert body["first_question"]["difficulty"] == "warmup"
    assert body["ws_url"] == expected_ws_url(api, body["id"])


# The seed's InterviewResponse fields, with the first question and the stream's URL beside them.
START_FIELDS = {
    "id", "candidate_id", "role_type", "status", "job_posting_id", "application_id", "resume_id",
    "kiosk_id", "proctor_id", "planned_question_count", "created_at", "started_at",
    "completed_at", "duration_seconds", "first_question", "ws_url",
    "accommodation", "accommodation_granted_by", "read_questions_aloud",
}  # fmt: skip
# What GET /interviews/{id} reads back: the posting's read_questions_aloud is not stored with it.
INTERVIEW_FIELDS = START_FIELDS - {"first_question", "ws_url", "read_questions_aloud"}


def test_start_answers_the_interview_at_the_top_level_beside_first_question_and_ws_url(
    shared_api: Api, shared_world: World
) -> None:
    response = shared_api.request(
        "POST", START, shared_world.owner, json={"application_id": shared_world.application["id"]}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == START_FIELDS  # nothing nested under "interview"
    assert body["role_type"] == "devops"
    assert body["job_posting_id"] == shared_world.posting["id"]
    assert body["application_id"] == shared_world.application["id"]
    assert body["candidate_id"] == str(shared_world.owner.id)
    assert body["ws_url"] == expected_ws_url(shared_api, body["id"])

    detail = shared_api.request("GET", f"/api/v1/interviews/{body['id']}", shared_world.owner)
    read_back = detail.json()
    assert {k: body[k] for k in INTERVIEW_FIELDS} == {k: read_back[k] for k in INTERVIEW_FIELDS}
    assert body["first_question"] == read_back["questions"][0]


def test_job_linked_flow_takes_the_role_from_the_posting(api: Api, world: World) -> None:
    response = api.request(
        "POST", START, world.owner, json={"application_id": world.application["id"]}
    )
    assert response.status_code == 201, response.text
    interview = response.json()
    assert interview["role_type"] == "devops"  # tech_stack "Kubernetes" -> devops
    assert interview["job_posting_id"] == world.posting["id"]
    assert interview["application_id"] == world.application["id"]

    detail = api.request("GET", f"/api/v1/interviews/{interview['id']}", world.owner).json()
    texts = " ".join(q["text"] for q in detail["questions"])
    assert "Kubernetes" in texts and "Terraform" in texts
    assert [q["difficulty"] for q in detail["questions"]] == [
        "warmup", "standard", "standard", "advanced", "advanced",
    ]  # fmt: skip

    application = api.request(
        "GET", f"/api/v1/applications/{world.application['id']}", world.owner
    ).json()
    assert application["interview_id"] == interview["id"]
    assert application["interview_status"] == "scheduled"
    assert application["status"] == "interviewing"


def test_application_id_wins_when_both_are_given(api: Api, world: World) -> None:
    response = api.request(
        "POST", START, world.owner,
        json={"application_id": world.application["id"], "role_type": "sales"},
    )  # fmt: skip
    assert response.status_code == 201
    assert response.json()["role_type"] == "devops"
    assert response.json()["job_posting_id"] == world.posting["id"]


@pytest.mark.parametrize("body", [{}, {"role_type": None, "application_id": None}])
def test_neither_field_is_400_not_422(api: Api, world: World, body: dict[str, object]) -> None:
    response = api.request("POST", START, world.owner, json=body)
    assert response.status_code == 400
    assert response.json() == {"detail": messages.NEED_APPLICATION_OR_ROLE}


def test_unknown_application_is_404(api: Api, world: World) -> None:
    missing = uuid.uuid4()
    response = api.request("POST", START, world.owner, json={"application_id": str(missing)})
    assert response.status_code == 404
    assert response.json() == {"detail": f"Application {missing} not found"}


def test_another_candidates_application_is_403(api: Api, world: World) -> None:
    response = api.request(
        "POST", START, world.owner, json={"application_id": world.other_application["id"]}
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Not authorized to access this application"}


@pytest.mark.parametrize("token", [None, "not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_missing_or_invalid_token_is_401(api: Api, world: World, token: str | None) -> None:
    response = api.request("POST", START, token, json={"role_type": "python"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_bad_uuid_is_422(api: Api, world: World) -> None:
    response = api.request("POST", START, world.owner, json={"application_id": "not-a-uuid"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "application_id"]


def test_closed_posting_is_400(api: Api, world: World) -> None:
    response = api.request(
        "POST", START, world.owner,
        json={"application_id": world.extras["closed_application"]["id"]},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"detail": messages.POSTING_NOT_ACTIVE}


@pytest.mark.parametrize("prefix", ["/api", "/api/v1"])
def test_planning_routes_return_ws_url_at_both_paths(api: Api, world: World, prefix: str) -> None:
    created = api.request(
        "POST", f"{prefix}/interviews/plan", world.owner, json={"role_type": "go"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"interview_id", "status", "planned_question_count", "message", "ws_url"}
    assert body["planned_question_count"] == 5
    assert body["message"] == "Interview planned with 5 questions"
    assert body["status"] == "scheduled"
    assert re.fullmatch(
        rf"ws://127\.0\.0\.1:{api.server.port}/ws/interviews/{UUID_RE}", body["ws_url"]
    )
    assert body["ws_url"] == expected_ws_url(api, body["interview_id"])

    fetched = api.request("GET", f"{prefix}/interviews/{body['interview_id']}/plan", world.owner)
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_ws_url_follows_the_proxy_scheme_and_host(api: Api, world: World) -> None:
    response = api.request(
        "POST", "/api/interviews/plan", world.owner, json={"role_type": "go"},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "kiosk.example.com"},
    )  # fmt: skip
    body = response.json()
    assert body["ws_url"] == f"wss://kiosk.example.com/ws/interviews/{body['interview_id']}"


def test_session_launched_by_a_proctor_records_kiosk_and_proctor(api: Api, world: World) -> None:
    launch = api.request(
        "POST", "/api/v1/proctor/sessions", world.proctor,
        json={"candidate_email": world.owner.email.upper(), "kiosk_id": "leeds-07"},
    )  # fmt: skip
    assert launch.status_code == 201, launch.text
    session = launch.json()
    assert session["candidate"]["email"] == world.owner.email
    assert session["expires_in"] == 3 * 60 * 60
    started = api.request(
        "POST", START, session["session_token"], json={"application_id": world.application["id"]}
    )
    assert started.status_code == 201
    interview = started.json()
    assert interview["kiosk_id"] == "leeds-07"
    assert interview["proctor_id"] == str(world.proctor.id)
    assert interview["candidate_id"] == str(world.owner.id)


def test_staff_cannot_be_interviewed(api: Api, world: World) -> None:
    response = api.request("POST", START, world.proctor, json={"role_type": "python"})
    assert response.status_code == 403
    assert response.json() == {"detail": messages.CANDIDATES_ONLY}


def test_interviews_list_is_own_for_candidates_and_all_for_staff(api: Api, world: World) -> None:
    mine = api.request("POST", START, world.owner, json={"role_type": "rust"}).json()
    theirs = api.request("POST", START, world.other, json={"role_type": "java"}).json()
    own_ids = {i["id"] for i in api.request("GET", "/api/v1/interviews", world.owner).json()}
    assert own_ids == {mine["id"]}
    staff_ids = {i["id"] for i in api.request("GET", "/api/v1/interviews", world.proctor).json()}
    assert {mine["id"], theirs["id"]} <= staff_ids
    filtered = api.request(
        "GET", "/api/v1/interviews", world.admin, params={"status": "completed"}
    ).json()
    assert filtered == []


def test_a_plan_is_the_same_when_read_again(api: Api, world: World) -> None:
    made = api.request("POST", START, world.owner, json={"role_type": "python"}).json()
    first = api.request("GET", f"/api/v1/interviews/{made['id']}", world.owner).json()
    again = api.request("GET", f"/api/v1/interviews/{made['id']}", world.admin).json()
    assert first["questions"] == again["questions"]
    assert first["questions"][0]["text"] == made["first_question"]["text"]


def test_registering_makes_candidates_only(api: Api) -> None:
    actor = api.make_user(Role.CANDIDATE)
    me = api.request("GET", "/api/v1/auth/me", actor).json()
    assert me["role"] == "candidate"
