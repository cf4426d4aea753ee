"""Sign-in throttling per client address as well as per e-mail (issue 19): one client trying
a common password against many accounts (password spraying) is slowed, another client is not,
and X-Forwarded-For is believed only from a configured proxy. Two real client addresses on
loopback (127.0.0.1 and 127.0.0.2), no header tricks needed for that."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.app.models.enums import Role
from backend.app.services import messages
from support.api import Actor, Api, client_from, serving
from support.settings import settings_for

PER_ADDRESS = 8
SPRAYED = "Spring2026!"


@pytest.fixture
def spray_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """A backend with a per-address limit of 8 that believes X-Forwarded-For from
    127.0.0.1 only when the test says so (``trusted``: the parametrized value)."""
    trusted = getattr(request, "param", "10.9.9.9")  # default: a proxy that is not here
    settings = settings_for(request, tmp_path).model_copy(
        update={"login_failures_per_address": PER_ADDRESS, "trusted_proxies": trusted}
    )
    with serving(settings) as api:
        yield api


def _spray(
    client: httpx.Client, accounts: list[Actor], forwarded_for: str | None = None
) -> list[int]:
    codes = []
    for i, account in enumerate(accounts):
        headers = {"X-Forwarded-For": forwarded_for.format(i=i)} if forwarded_for else {}
        response = client.post(
            "/api/v1/auth/login", json={"email": account.email, "password": SPRAYED},
            headers=headers,
        )  # fmt: skip
        codes.append(response.status_code)
        if response.status_code == 429:
            assert response.json() == {"detail": messages.TOO_MANY_ATTEMPTS}
            assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    return codes


def _accounts(api: Api, count: int) -> list[Actor]:
    return [api.make_user(Role.CANDIDATE, f"Sprayed {uuid.uuid4().hex[:4]}") for _ in range(count)]


def test_twenty_accounts_sprayed_from_one_address_are_throttled_and_another_is_not(
    spray_target: Api,
) -> None:
    accounts = _accounts(spray_target, 20)
    sprayer, other = client_from(spray_target, "127.0.0.2"), client_from(spray_target, "127.0.0.3")
    with sprayer, other:
        # One failure per account: the per-e-mail limit (5) never comes near.
        assert _spray(sprayer, accounts) == [401] * PER_ADDRESS + [429] * (20 - PER_ADDRESS)
        # Even a right password from the sprayer's address waits now.
        right = sprayer.post(
            "/api/v1/auth/login",
            json={"email": accounts[0].email, "password": accounts[0].password},
        )
        assert right.status_code == 429
        # A candidate at another address signs in as usual, and fails as usual.
        for account in accounts[:3]:
            signed_in = other.post(
                "/api/v1/auth/login", json={"email": account.email, "password": account.password}
            )
            assert signed_in.status_code == 200, signed_in.text
        assert _spray(other, accounts[3:5]) == [401, 401]


def test_x_forwarded_for_from_a_peer_that_is_not_a_trusted_proxy_is_ignored(
    spray_target: Api,
) -> None:
    accounts = _accounts(spray_target, 12)
    with client_from(spray_target, "127.0.0.2") as sprayer:
        # A new made-up address on every try: still one peer, still throttled.
        codes = _spray(sprayer, accounts, forwarded_for="203.0.113.{i}")
    assert codes == [401] * PER_ADDRESS + [429] * (12 - PER_ADDRESS)


@pytest.mark.parametrize("spray_target", ["127.0.0.2"], indirect=True)
def test_behind_a_trusted_proxy_each_forwarded_address_is_counted_on_its_own(
    spray_target: Api,
) -> None:
    accounts = _accounts(spray_target, 12)
    with client_from(spray_target, "127.0.0.2") as proxy:
        assert _spray(proxy, accounts, "203.0.113.7") == [401] * PER_ADDRESS + [429] * 4
        # Another client behind the same proxy is not slowed by the first one's failures.
        assert _spray(proxy, accounts[:3], "203.0.113.8") == [401, 401, 401]
