"""Proctors find candidates and launch their sessions at a kiosk."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core import security
from backend.app.core.config import Settings
from backend.app.core.errors import NotFound
from backend.app.models.enums import Accommodation, Role
from backend.app.repositories import audit, tokens, users
from backend.app.schemas.proctor import CandidateRead, SessionLaunchResponse
from backend.app.services import messages
from backend.app.services.auth import Principal, normalize_email, require_staff

logger = structlog.get_logger(__name__)


async def find_candidates(
    session: AsyncSession, principal: Principal, query: str, limit: int
) -> list[CandidateRead]:
    """Active candidates whose name or e-mail contains ``query`` (staff only)."""
    require_staff(principal)
    found = await users.search_candidates(session, query.strip(), limit)
    return [CandidateRead.model_validate(candidate) for candidate in found]


async def launch_session(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    email: str,
    kiosk_id: str,
    accommodation: Accommodation | None = None,
) -> SessionLaunchResponse:
    """Issue a candidate-scoped token recording the proctor, the kiosk and any extra time
    granted (audited).

    The accommodation travels in the token, so the interview the candidate starts with it
    records who granted what; a candidate cannot grant it to themselves.
    """
    require_staff(principal)
    candidate = await users.get_by_email(session, normalize_email(email))
    if candidate is None or candidate.role != Role.CANDIDATE or not candidate.is_active:
        raise NotFound(messages.candidate_not_found(email))
    lifetime = timedelta(minutes=settings.session_token_minutes)
    # The plain value, not the enum: it goes into the JWT and the audit log's JSON as is.
    granted = accommodation.value if accommodation is not None else None
    token, claims = security.issue_token(
        settings.resolved_jwt_secret(), candidate.id, "session", lifetime,
        proctor_id=principal.id, kiosk_id=kiosk_id, accommodation=granted,
    )  # fmt: skip
    # Written down (its id only) so that ending this seat's session can revoke it.
    tokens.record_launch(session, claims.token_id, kiosk_id, candidate.id, claims.expires_at)
    audit.record(
        session, principal.id, "session_launched", "user", candidate.id,
        kiosk_id=kiosk_id, accommodation=granted,
    )  # fmt: skip
    await session.commit()
    logger.info(
        "session_launched",
        proctor_id=str(principal.id),
        candidate_id=str(candidate.id),
        kiosk_id=kiosk_id,
        accommodation=granted,
    )
    return SessionLaunchResponse(
        session_token=token,
        candidate=CandidateRead.model_validate(candidate),
        expires_in=int(lifetime.total_seconds()),
        accommodation=accommodation,
    )
