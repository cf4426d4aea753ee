"""Password hashing (argon2id) and signed, expiring bearer tokens (JWT, HS256).

Hashing takes ~50 ms of CPU by design, so it runs on a worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.app.core.config import PreviousKey

_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so a wrong address costs as long as a wrong password
# and response times do not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

TokenKind = Literal["access", "session"]
ALGORITHM = "HS256"


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; ``None`` (unknown user) costs the same and is False."""
    return await asyncio.to_thread(_verify, password_hash, password)


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    kind: TokenKind
    expires_at: datetime
    # Set on proctor-launched session tokens only.
    proctor_id: uuid.UUID | None = None
    kiosk_id: str | None = None
    # Extra time the launching proctor granted (models.enums.Accommodation), if any.
    accommodation: str | None = None
    # The token's own id (``jti``): what the console's CSRF token is bound to.
    token_id: str = ""


class InvalidToken(Exception):
    """The token is malformed, forged or expired."""


def issue_token(
    secret: str,
    user_id: uuid.UUID,
    kind: TokenKind,
    lifetime: timedelta,
    proctor_id: uuid.UUID | None = None,
    kiosk_id: str | None = None,
    accommodation: str | None = None,
) -> tuple[str, TokenClaims]:
    now = datetime.now(UTC)
    token_id = uuid.uuid4().hex
    claims = TokenClaims(
        user_id, kind, now + lifetime, proctor_id, kiosk_id, accommodation, token_id
    )
    payload: dict[str, object] = {
        "sub": str(user_id),
        "kind": kind,
        "iat": now,
        "exp": claims.expires_at,
        "jti": token_id,
    }
    if proctor_id is not None:
        payload["proctor"] = str(proctor_id)
    if kiosk_id is not None:
        payload["kiosk"] = kiosk_id
    if accommodation is not None:
        payload["accommodation"] = accommodation
    return jwt.encode(payload, secret, algorithm=ALGORITHM), claims


def decode_token(secret: str, token: str, previous: PreviousKey | None = None) -> TokenClaims:
    """The claims of a token signed with ``secret``, or with ``previous`` (the key before a
    rotation) if it was issued before that rotation and lives no longer than one token
    lifetime past it: a leaked old key cannot mint tokens that outlast the grace period."""
    try:
        try:
            payload = _decode(secret, token)
        except jwt.InvalidSignatureError:
            if previous is None:
                raise
            payload = _decode(previous.secret, token)
            if previous.rotated_at is not None:
                issued = datetime.fromtimestamp(payload["iat"], UTC)
                expires = datetime.fromtimestamp(payload["exp"], UTC)
                if issued > previous.rotated_at or (
                    expires > previous.rotated_at + previous.longest_lifetime
                ):
                    raise InvalidToken(
                        "signed with the previous key outside its grace period"
                    ) from None
        kind = payload["kind"]
        if kind not in ("access", "session"):
            raise InvalidToken("unknown token kind")
        proctor = payload.get("proctor")
        return TokenClaims(
            user_id=uuid.UUID(payload["sub"]),
            kind=kind,
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            proctor_id=uuid.UUID(proctor) if proctor else None,
            kiosk_id=payload.get("kiosk"),
            accommodation=payload.get("accommodation"),
            token_id=str(payload.get("jti") or ""),
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise InvalidToken(str(exc)) from exc


def _decode(secret: str, token: str) -> dict[str, Any]:
    payload: dict[str, Any] = jwt.decode(
        token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "iat", "kind"]}
    )
    return payload
