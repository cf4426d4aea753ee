"""X-Forwarded-Host is believed only from ``IK_TRUSTED_PROXIES``: the stream URL a kiosk is
handed (``ws_url``) is built from it, so a client that is not the proxy must not be able to
point it elsewhere. Two real client addresses on loopback: 127.0.0.1 (the default trusted
proxy, as nginx on the same host) and 127.0.0.2 (anyone else)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.app.models.enums import Role
from support.api import Actor, Api, client_from, serving
from support.settings import settings_for

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "elsewhere.example.com"}


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    settings = settings_for(request, tmp_path)
    assert settings.trusted_proxies == "127.0.0.1"
    with serving(settings) as api:
        yield api


def _plan(api: Api, source: str, candidate: Actor) -> str:
    with client_from(api, source) as client:
        response = client.post(
            "/api/v1/interviews/plan", json={"role_type": "go"},
            headers={**candidate.headers, **FORWARDED},
        )  # fmt: skip
    assert response.status_code == 201, response.text
    return str(response.json()["ws_url"])


def test_the_stream_url_follows_the_forwarded_host_only_from_a_trusted_proxy(
    backend: Api,
) -> None:
    candidate = backend.make_user(Role.CANDIDATE, "Forwarded Host")
    # From the proxy: the scheme and host the kiosk reached it by.
    assert re.fullmatch(
        r"wss://elsewhere\.example\.com/ws/interviews/[0-9a-f-]{36}",
        _plan(backend, "127.0.0.1", candidate),
    )
    # From anyone else: both headers ignored, the address the client itself used.
    assert re.fullmatch(
        rf"ws://127\.0\.0\.1:{backend.server.port}/ws/interviews/[0-9a-f-]{{36}}",
        _plan(backend, "127.0.0.2", candidate),
    )
