"""Schemathesis against the live server, every operation once per kind of caller.

Each operation of the OpenAPI document gets generated requests, valid and deliberately invalid,
sent over real HTTP with the caller's bearer token. Every answer must be free of 5xx and match
the document: a documented status code, the documented content type and headers, and a body of
the documented shape; requests that break the schema must be refused with a 4xx.

``make test`` runs a short, repeatable pass (``DEFAULT_EXAMPLES`` per operation, a fixed seed).
``make fuzz`` sets ``IK_FUZZ_EXAMPLES``: then the examples are random, as many as it says, and
the coverage phase runs as well (boundary values, missing fields and wrong types for every
parameter), which multiplies the requests.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app.core.config import Settings
from backend.app.main import create_app
from support.api import Api, World

DEFAULT_EXAMPLES = 10
LONG_RUN = "IK_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("IK_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))

# The answers are judged, not the rules behind them: a valid request refused 403 or 404 for this
# caller is right, so neither `positive_data_acceptance` nor the auth probes run here; who gets
# what is pinned by tests/api/test_authorization_matrix.py.
CHECKS: list[Callable[..., Any]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

CALLERS = ["anonymous", "candidate", "candidate_session", "proctor", "admin"]


def _openapi_document() -> dict[str, Any]:
    """The app's document, read at collection to make one test per operation.

    A scratch data directory keeps collection from touching the real one; no database is opened.
    ``test_live_server_serves_the_fuzzed_document`` proves the live server serves this document.
    """
    with tempfile.TemporaryDirectory() as scratch:
        return create_app(Settings(data_dir=Path(scratch))).openapi()


CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": not LONG_RUN,
            "database": "none",
            # The caller's real token is sent with every request; a generated Authorization
            # header would only test the token parser, which test_hostile_tokens.py does.
            "with-security-parameters": False,
        },
        "phases": {"coverage": {"enabled": LONG_RUN}, "stateful": {"enabled": False}},
        # Generation is timed on a shared 2-core machine: slowness there is not a finding.
        "suppress-health-check": ["too_slow"],
    }
)
# Logout revokes the caller's token, which every later case of the module shares: it has no
# input to fuzz, and tests/api/test_revocation.py and the authorization matrix cover it.
schema = schemathesis.openapi.from_dict(_openapi_document(), config=CONFIG).exclude(
    path="/api/v1/auth/logout"
)


@pytest.fixture(scope="module")
def tokens(shared_api: Api, shared_world: World) -> dict[str, str | None]:
    launched = shared_api.request(
        "POST", "/api/v1/proctor/sessions", shared_world.proctor,
        json={"candidate_email": shared_world.other.email, "kiosk_id": "fuzz"},
    )  # fmt: skip
    assert launched.status_code == 201, launched.text
    return {
        "anonymous": None,
        "candidate": shared_world.owner.token,
        "candidate_session": launched.json()["session_token"],
        "proctor": shared_world.proctor.token,
        "admin": shared_world.admin.token,
    }


def test_live_server_serves_the_fuzzed_document(shared_api: Api) -> None:
    assert shared_api.request("GET", "/openapi.json").json() == schema.raw_schema


@schema.parametrize()
@pytest.mark.parametrize("caller", CALLERS)
def test_every_answer_matches_the_openapi_document(
    case: Case, caller: str, shared_api: Api, tokens: dict[str, str | None]
) -> None:
    token = tokens[caller]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    case.call_and_validate(base_url=shared_api.url, headers=headers, checks=CHECKS)


# What the fuzzer found on PostgreSQL (a 500 each), pinned so every run proves it on both databases.

NUL_REQUESTS = [
    ("POST", "/api/v1/auth/register", "anonymous",
     {"email": "nul@example.com", "password": "long-enough-1", "full_name": "Nu\x00l"},
     {"full_name"}),
    ("POST", "/api/v1/auth/login", "anonymous", {"email": "nu\x00l@example.com", "password": "x"},
     {"email"}),
    ("POST", "/api/v1/job-postings", "admin",
     {"title": "T", "company": "C\x00", "tech_stack": ["go", "k8s\x00"]},
     {"company", "tech_stack"}),
    ("POST", "/api/v1/proctor/sessions", "proctor",
     {"candidate_email": "\x00@example.com", "kiosk_id": "k\x00"},
     {"candidate_email", "kiosk_id"}),
    ("GET", "/api/v1/proctor/candidates?query=a%00b", "proctor", None, {"query"}),
    ("GET", "/api/v1/interviews?kiosk_id=a%00b", "admin", None, {"kiosk_id"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "caller", "body", "fields"),
    NUL_REQUESTS,
    ids=[f"{method} {path}" for method, path, *_ in NUL_REQUESTS],
)
def test_nul_characters_are_refused_with_422_naming_the_field(
    shared_api: Api,
    tokens: dict[str, str | None],
    method: str,
    path: str,
    caller: str,
    body: dict[str, Any] | None,
    fields: set[str],
) -> None:
    response = shared_api.request(method, path, tokens[caller], json=body)
    assert response.status_code == 422, response.text
    assert {error["loc"][-1] for error in response.json()["detail"]} == fields


def test_failed_sign_in_with_the_longest_address_is_401(shared_api: Api) -> None:
    # The failure is audited; the address once went into a 64-character column.
    address = "a" * 64 + "@" + "b" * 185 + ".com"
    assert len(address) == 254
    response = shared_api.request(
        "POST", "/api/v1/auth/login", json={"email": address, "password": "wrong-guess"}
    )
    assert response.status_code == 401, response.text
