"""Who is calling: accounts, sign-in with throttling, and turning a token into a principal."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core import security
from backend.app.core.config import Settings
from backend.app.core.errors import Conflict, Forbidden, TooManyRequests, Unauthorized
from backend.app.models import User
from backend.app.models.enums import Role
from backend.app.repositories import audit, tokens, users
from backend.app.schemas.auth import LoginRequest, RegisterRequest, TokenResponse, UserRead
from backend.app.services import messages
from backend.app.services.kiosks import is_kiosk_credential
from backend.app.services.streaming.registry import StreamRegistry

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. ``session`` tokens act for a candidate at one kiosk."""

    user: User
    claims: security.TokenClaims

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def is_staff(self) -> bool:
        # A session token always belongs to a candidate; checked here too so a staff member's
        # session token (never issued) could not reach staff routes.
        return self.claims.kind == "access" and self.role in (Role.PROCTOR, Role.ADMIN)

    @property
    def is_reviewer(self) -> bool:
        """A reviewer account (admins may review too, but are not reviewers by role)."""
        return self.claims.kind == "access" and self.role is Role.REVIEWER

    @property
    def is_admin(self) -> bool:
        return self.claims.kind == "access" and self.role is Role.ADMIN


def normalize_email(email: str) -> str:
    return email.strip().casefold()


async def create_user(
    session: AsyncSession,
    email: str,
    password: str,
    full_name: str,
    role: Role,
    test_center_id: str | None = None,
) -> User:
    user = User(
        email=normalize_email(email),
        password_hash=await security.hash_password(password),
        full_name=full_name.strip(),
        role=role.value,
        test_center_id=test_center_id,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(messages.EMAIL_TAKEN) from None
    audit.record(session, user.id, "user_created", "user", user.id, role=role.value)
    await session.commit()
    return user


async def register(session: AsyncSession, request: RegisterRequest) -> UserRead:
    """A new candidate account (409 when the e-mail is taken)."""
    user = await create_user(
        session, request.email, request.password, request.full_name, Role.CANDIDATE
    )
    return UserRead.model_validate(user)


def profile(principal: Principal) -> UserRead:
    return UserRead.model_validate(principal.user)


async def login(
    session: AsyncSession, settings: Settings, request: LoginRequest, client_address: str | None
) -> TokenResponse:
    token, lifetime = await sign_in(session, settings, request, client_address)
    return TokenResponse(access_token=token, expires_in=int(lifetime.total_seconds()))


async def sign_in(
    session: AsyncSession, settings: Settings, request: LoginRequest, client_address: str | None
) -> tuple[str, timedelta]:
    """Check the credentials; return a bearer token and its lifetime.

    One message for an unknown e-mail and a wrong password. Refused (even the right password)
    until the oldest failure in the window expires: after ``login_failures_per_email`` for an
    e-mail (guessing one account's password), or ``login_failures_per_address`` from one
    client address across any accounts (spraying a common password). The counts live in
    the database, so every backend process sees the same ones.
    """
    email = normalize_email(request.email)
    now = datetime.now(UTC)
    window = timedelta(minutes=settings.login_failure_window_minutes)
    since = now - window
    limits = [(await users.failures_since(session, since, email=email),
               settings.login_failures_per_email, "email")]  # fmt: skip
    if client_address is not None:
        limits.append((await users.failures_since(session, since, client_address=client_address),
                       settings.login_failures_per_address, "address"))  # fmt: skip
    for recent, limit, by in limits:
        if len(recent) >= limit:
            retry_after = math.ceil((recent[-limit] + window - now).total_seconds())
            logger.warning("login_throttled", by=by, retry_after=retry_after)
            raise TooManyRequests(messages.TOO_MANY_ATTEMPTS, max(1, retry_after))
    user = await users.get_by_email(session, email)
    valid = await security.verify_password(user.password_hash if user else None, request.password)
    if user is None or not valid or not user.is_active:
        await users.record_failure(session, email, now, client_address)
        await users.forget_failures_before(session, since)
        # The address goes in the details: the subject column holds ids (64 characters), and
        # an unknown address may be as long as the 254 characters sign-in accepts.
        user_id = user.id if user else None
        audit.record(session, user_id, "login_failed", "user", user_id, email=email)
        await session.commit()
        raise Unauthorized(messages.BAD_CREDENTIALS)
    await users.clear_failures(session, email)
    audit.record(session, user.id, "login", "user", user.id)
    await session.commit()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    token, _claims = security.issue_token(
        settings.resolved_jwt_secret(), user.id, "access", lifetime
    )
    return token, lifetime


async def authenticate(session: AsyncSession, settings: Settings, token: str | None) -> Principal:
    if not token:
        raise Unauthorized(messages.NOT_AUTHENTICATED)
    if is_kiosk_credential(token):
        # A real identity, but a seat's: it opens the control channel and nothing else.
        raise Forbidden(messages.KIOSK_CREDENTIAL_REFUSED)
    try:
        claims = security.decode_token(
            settings.resolved_jwt_secret(), token, settings.previous_jwt_key()
        )
    except security.InvalidToken:
        raise Unauthorized(messages.INVALID_TOKEN) from None
    if claims.token_id and await tokens.is_revoked(session, claims.token_id):
        raise Unauthorized(messages.TOKEN_REVOKED)
    user = await users.get(session, claims.user_id)
    if user is None or not user.is_active:
        raise Unauthorized(messages.INVALID_TOKEN)
    if claims.kind == "session" and user.role != Role.CANDIDATE:
        raise Unauthorized(messages.INVALID_TOKEN)
    return Principal(user, claims)


async def sign_out(
    session: AsyncSession, principal: Principal, reason: str = "sign_out",
    streams: StreamRegistry | None = None,
) -> None:  # fmt: skip
    """Refuse the caller's token from now on (REST and both WebSockets), until it would have
    expired anyway, and close any audio stream it opened (``streams``: this process; others
    through the database); the deny-list sheds entries whose tokens have expired as it goes."""
    now = datetime.now(UTC)
    claims = principal.claims
    revoked = set()
    if claims.token_id and claims.expires_at > now:
        await tokens.revoke(session, claims.token_id, claims.expires_at, reason)
        revoked.add(claims.token_id)
    await tokens.forget_expired(session, now)
    await tokens.announce(session, revoked)
    audit.record(session, principal.id, "logout", "user", principal.id, reason=reason)
    await session.commit()
    if streams is not None:
        streams.close_streams_of(revoked)


async def end_sessions_at(
    session: AsyncSession, streams: StreamRegistry, kiosk_id: str, launched_by: datetime,
    reason: str,
) -> int:  # fmt: skip
    """Revoke every unexpired session token launched at ``kiosk_id`` up to ``launched_by`` (a
    proctor ended the seat's session: not one launched since) and close the streams they
    opened, in this process and the others sharing the database. Returns how many."""
    now = datetime.now(UTC)
    launched = await tokens.launched_at(session, kiosk_id, launched_by, now)
    revoked = {token_id for token_id, _expires_at in launched}
    for token_id, expires_at in launched:
        await tokens.revoke(session, token_id, expires_at, reason)
    await tokens.forget_expired(session, now)
    await tokens.announce(session, revoked)
    await session.commit()
    streams.close_streams_of(revoked)
    if revoked:
        logger.info("sessions_revoked", kiosk_id=kiosk_id, tokens=len(revoked), reason=reason)
    return len(revoked)


def require_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise Forbidden(messages.STAFF_ONLY)


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden(messages.ADMIN_ONLY)


def require_candidate(principal: Principal) -> None:
    if principal.role is not Role.CANDIDATE:
        raise Forbidden(messages.CANDIDATES_ONLY)


def require_owner(
    principal: Principal, owner_id: uuid.UUID, forbidden: str, *, or_staff: bool
) -> None:
    """The one ownership rule: only the candidate who owns a subject (an application, an
    interview, a resume) may act on it, and proctors and admins too when ``or_staff``.

    Raises:
        Forbidden: with the ``forbidden`` message, for anyone else.
    """
    if principal.id == owner_id or (or_staff and principal.is_staff):
        return
    raise Forbidden(forbidden)
