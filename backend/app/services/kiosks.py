"""Test centers and the kiosks enrolled in them: enrolment by IT, and a kiosk proving who it is.

A kiosk's credential is 256 random bits shown once at enrolment and kept by the kiosk
(``kiosk_token`` in kiosk.toml); the database keeps only its SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import BadRequest, Unauthorized
from backend.app.models import Kiosk, TestCenter
from backend.app.repositories import audit
from backend.app.services import messages

logger = structlog.get_logger(__name__)

# Marks a kiosk credential (a token that only opens the control channel).
CREDENTIAL_PREFIX = "ikk_"
# Seat and test center names: what IT types, safe in a URL path and a log line.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def is_kiosk_credential(token: str) -> bool:
    return token.startswith(CREDENTIAL_PREFIX)


def _digest(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


def check_name(kind: str, value: str) -> str:
    if not NAME_PATTERN.fullmatch(value):
        raise BadRequest(
            f"A {kind} id is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
            f"or digit: {value!r} is not"
        )
    return value


def center_id_for(name: str) -> str:
    """A test center id from a display name ("Leeds Test Centre" -> "leeds-test-centre")."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:64]
    return slug or "test-center"


async def ensure_test_center(
    session: AsyncSession, center_id: str, name: str | None = None
) -> TestCenter:
    center = await session.get(TestCenter, check_name("test center", center_id))
    if center is None:
        center = TestCenter(id=center_id, name=name or center_id)
        session.add(center)
        await session.flush()
    return center


async def enroll(
    session: AsyncSession,
    kiosk_id: str,
    center_id: str,
    center_name: str | None = None,
    actor_id: uuid.UUID | None = None,
) -> str:
    """Enroll (or re-enroll) a kiosk in a test center; its new credential, shown once.

    Re-enrolling a kiosk replaces its credential: the old one stops working at once.
    """
    check_name("kiosk", kiosk_id)
    await ensure_test_center(session, center_id, center_name)
    credential = CREDENTIAL_PREFIX + secrets.token_urlsafe(32)
    kiosk = await session.get(Kiosk, kiosk_id)
    if kiosk is None:
        kiosk = Kiosk(id=kiosk_id, test_center_id=center_id, credential_hash=_digest(credential))
        session.add(kiosk)
    else:
        kiosk.test_center_id = center_id
        kiosk.credential_hash = _digest(credential)
    audit.record(session, actor_id, "kiosk_enrolled", "kiosk", kiosk_id, test_center=center_id)
    await session.commit()
    logger.info("kiosk_enrolled", kiosk_id=kiosk_id, test_center=center_id)
    return credential


async def authenticate_kiosk(session: AsyncSession, kiosk_id: str, credential: str | None) -> Kiosk:
    """The enrolled kiosk ``kiosk_id`` if ``credential`` is its own.

    Raises:
        Unauthorized: no credential, a forged one, another kiosk's, or a kiosk not enrolled
            (one message for all, so a caller learns nothing about which seats exist).
    """
    kiosk = await session.get(Kiosk, kiosk_id) if NAME_PATTERN.fullmatch(kiosk_id) else None
    expected = kiosk.credential_hash if kiosk is not None else _digest("no kiosk")
    given = _digest(credential or "")
    if kiosk is None or not credential or not hmac.compare_digest(expected, given):
        raise Unauthorized(messages.KIOSK_NOT_ENROLLED)
    return kiosk


async def enrolled(session: AsyncSession, center_id: str | None = None) -> dict[str, str]:
    """Every enrolled kiosk (of one test center, when given) and its test center."""
    statement = select(Kiosk.id, Kiosk.test_center_id)
    if center_id is not None:
        statement = statement.where(Kiosk.test_center_id == center_id)
    rows = await session.execute(statement)
    return {kiosk_id: center for kiosk_id, center in rows.all()}
