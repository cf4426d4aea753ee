"""Accounts and sign-in: registration, one message for every bad sign-in, throttling,
and no secrets in the logs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from backend.app.models.enums import Role
from backend.app.services import messages
from support.api import Api


def test_register_then_duplicate_email_is_409(api: Api) -> None:
    body = {"email": "Dup@Example.com", "password": "long-enough-1", "full_name": "D"}
    first = api.request("POST", "/api/v1/auth/register", json=body)
    assert first.status_code == 201
    assert first.json()["email"] == "dup@example.com"
    assert "password" not in first.text
    again = api.request("POST", "/api/v1/auth/register", json={**body, "email": "dup@example.COM"})
    assert again.status_code == 409
    assert again.json() == {"detail": messages.EMAIL_TAKEN}


def test_login_returns_a_bearer_token_with_its_lifetime(api: Api) -> None:
    actor = api.make_user(Role.CANDIDATE)
    response = api.request(
        "POST", "/api/v1/auth/login", json={"email": actor.email, "password": actor.password}
    )
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 60 * 60
    me = api.request("GET", "/api/v1/auth/me", body["access_token"]).json()
    assert me["email"] == actor.email


def test_unknown_email_and_wrong_password_get_the_same_401(api: Api) -> None:
    actor = api.make_user(Role.CANDIDATE)
    wrong_password = api.request(
        "POST", "/api/v1/auth/login", json={"email": actor.email, "password": "nope-nope"}
    )
    unknown = api.request(
        "POST", "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x"}
    )
    assert wrong_password.status_code == unknown.status_code == 401
    assert wrong_password.json() == unknown.json() == {"detail": messages.BAD_CREDENTIALS}


def test_five_failures_lock_the_email_for_fifteen_minutes(api: Api) -> None:
    actor = api.make_user(Role.CANDIDATE)
    for _ in range(5):
        failed = api.request(
            "POST", "/api/v1/auth/login", json={"email": actor.email, "password": "wrong-pw"}
        )
        assert failed.status_code == 401
    # Now even the right password is refused, with a precise wait.
    locked = api.request(
        "POST", "/api/v1/auth/login", json={"email": actor.email, "password": actor.password}
    )
    assert locked.status_code == 429
    assert locked.json() == {"detail": messages.TOO_MANY_ATTEMPTS}
    assert 14 * 60 < int(locked.headers["retry-after"]) <= 15 * 60
    # Another address is unaffected.
    other = api.make_user(Role.CANDIDATE)
    assert api.login(other.email, other.password)


def test_request_id_is_echoed_or_made(api: Api) -> None:
    given = api.request("GET", "/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = api.request("GET", "/health", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["x-request-id"]) == 32


def test_logs_are_json_lines_without_passwords_or_tokens(tmp_path: Path) -> None:
    """The real service: `interview-backend serve`, its stdout read back line by line."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "IK_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    password = f"pw-{uuid.uuid4().hex}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        email = "logs@example.com"
        httpx.post(f"{base}/api/v1/auth/register",
                   json={"email": email, "password": password, "full_name": "L"})  # fmt: skip
        token = httpx.post(
            f"{base}/api/v1/auth/login", json={"email": email, "password": password}
        ).json()["access_token"]
        started = httpx.post(
            f"{base}/api/v1/interviews/start", json={"role_type": "python"},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-me"},
        )  # fmt: skip
        assert started.status_code == 201
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=15)
    assert password not in out + err
    assert token not in out + err
    events = [json.loads(line) for line in out.splitlines()]  # every line is JSON
    names = {event["event"] for event in events}
    assert {"start_interview_request", "interview_started_successfully", "request"} <= names
    traced = [e for e in events if e.get("request_id") == "trace-me"]
    assert {e["event"] for e in traced} >= {"start_interview_request", "request"}
