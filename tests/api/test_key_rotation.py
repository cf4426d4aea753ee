"""Rotating the token-signing key (issue 19): `interview-backend rotate-jwt-secret` writes a
new key; tokens the old key signed keep working until they expire, so nobody is signed out;
new tokens are signed with the new key; the old key cannot mint anything past its grace."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from backend.app.core.config import Settings
from backend.app.models.enums import Role
from support.api import serving
from support.settings import settings_for


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IK_")}
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], env={**clean, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _forged(secret: str, user_id: str, issued: datetime, expires: datetime) -> str:
    payload = {"sub": user_id, "kind": "access", "iat": issued, "exp": expires, "jti": "x"}
    return jwt.encode(payload, secret, algorithm="HS256")


def test_rotating_the_key_signs_nobody_out_and_new_tokens_use_the_new_key(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = settings_for(request, tmp_path)
    with serving(settings) as api:
        admin = api.make_user(Role.ADMIN)
        candidate = api.make_user(Role.CANDIDATE)
    old_key = (tmp_path / "jwt-secret").read_text().strip()

    rotated = _cli("rotate-jwt-secret", IK_DATA_DIR=str(tmp_path))
    assert rotated.returncode == 0, rotated.stderr
    assert "Start every backend process again" in rotated.stdout
    new_key = (tmp_path / "jwt-secret").read_text().strip()
    previous = tmp_path / "jwt-secret.previous"
    assert new_key != old_key and previous.read_text().strip() == old_key
    assert (
        stat.S_IMODE(previous.stat().st_mode)
        == stat.S_IMODE((tmp_path / "jwt-secret").stat().st_mode)
        == 0o600
    )
    assert old_key not in rotated.stdout + rotated.stderr

    # A restarted backend: a new Settings reads both keys (a copy would keep the cached one).
    restarted = Settings(**settings.model_dump(exclude={"jwt_secret", "jwt_previous_secret"}))
    with serving(restarted, migrate=False) as api:
        for actor in (admin, candidate):  # signed with the old key, before the rotation
            assert api.request("GET", "/api/v1/auth/me", actor).status_code == 200
        fresh = api.login(candidate.email, candidate.password)
        jwt.decode(fresh, new_key, algorithms=["HS256"])  # the new key signs new tokens
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(fresh, old_key, algorithms=["HS256"])
        # What someone holding the old key might try, each refused:
        rotated_at = datetime.fromtimestamp(previous.stat().st_mtime, UTC)
        after = rotated_at + timedelta(seconds=1.5)  # iat is whole seconds: past it for sure
        time.sleep(max(0.0, (after - datetime.now(UTC)).total_seconds()))
        before, grace = rotated_at - timedelta(minutes=1), restarted.longest_token_lifetime
        attempts = {
            "issued after the rotation": (after, after + timedelta(minutes=5)),
            "outliving the grace period": (before, rotated_at + grace + timedelta(minutes=1)),
            "expired": (before - timedelta(hours=2), before - timedelta(hours=1)),
        }
        for what, (issued, expires) in attempts.items():
            token = _forged(old_key, str(candidate.id), issued, expires)
            response = api.request("GET", "/api/v1/auth/me", token)
            assert response.status_code == 401, what


def test_a_configured_key_is_rotated_by_it_and_the_command_says_so(tmp_path: Path) -> None:
    refused = _cli("rotate-jwt-secret", IK_DATA_DIR=str(tmp_path), IK_JWT_SECRET="s" * 40)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "interview-backend: IK_JWT_SECRET is set: rotate it there (the old value in "
        "IK_JWT_PREVIOUS_SECRET until every token it signed has expired)"
    )
    nothing = _cli("rotate-jwt-secret", IK_DATA_DIR=str(tmp_path))
    assert nothing.returncode == 2 and "there is no key to rotate" in nothing.stderr
    # The configured pair: the previous value still verifies what it signed.
    settings = Settings(data_dir=tmp_path, jwt_secret="n" * 40, jwt_previous_secret="o" * 40)
    previous = settings.previous_jwt_key()
    assert previous is not None and previous.rotated_at is None
    assert "o" * 40 not in repr(settings) + repr(previous)
