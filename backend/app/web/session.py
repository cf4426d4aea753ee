"""The staff pages' sign-in: an HttpOnly, SameSite=Strict cookie holding a signed token, and a
CSRF token bound to it. Each page (the room console, the review page) is an ``Area`` with its
own cookie, sent only under its own path: signing in to one does not sign in to the other.

The CSRF token is an HMAC of the session token's id under the backend's secret: nothing to
store, different for every sign-in, and useless to a page that cannot read the console's
HTML. Before sign-in, the form is protected by a random value kept both in a cookie and in
the form (double submit), so another site cannot sign a proctor into an account it chose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.api.deps import SessionDep, SettingsDep
from backend.app.core import security
from backend.app.core.config import Settings
from backend.app.core.errors import DomainError, Forbidden
from backend.app.schemas.auth import LoginRequest
from backend.app.services import auth as auth_service
from backend.app.services import messages
from backend.app.services.auth import Principal, authenticate

FORM_COOKIE = "ik_form"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Area:
    cookie: str
    path: str  # the page itself; its sign-in form is at path + "/sign-in"
    admits: Callable[[Principal], bool]  # who may sign in to it
    refusal: str  # what anyone else is told


CONSOLE = Area("ik_console", "/console", lambda p: p.is_staff, messages.CONSOLE_STAFF_ONLY)
REVIEW = Area(
    "ik_review", "/review", lambda p: p.is_reviewer or p.is_admin, messages.REVIEW_PAGE_ONLY
)
ShowForm = Callable[[str | None, str, int], Response]  # (error, email, status) -> the form


async def sign_in(
    area: Area,
    request: Request,
    session: AsyncSession,
    settings: Settings,
    credentials: tuple[str, str, str],
    show_form: ShowForm,
) -> Response:
    """The sign-in form's POST (email, password, the form's token): the page's own token in
    its cookie, or the form again with what was wrong."""
    email, password, sent_token = credentials
    if not form_token_matches(request, sent_token):
        return show_form(messages.CSRF_MISSING, email, 403)
    try:
        login = LoginRequest(email=email, password=password)
    except ValidationError:
        return show_form("Enter your email address and password.", email, 400)
    minutes = settings.console_session_minutes
    try:
        client = request.client.host if request.client else None
        token, _lifetime = await auth_service.sign_in(session, settings, login, client)
        principal = await authenticate(session, settings, token)
        if not area.admits(principal):
            raise Forbidden(area.refusal)
    except DomainError as exc:
        return show_form(exc.detail, email, exc.status_code)
    # The page's own token: a test day long, for this page only.
    token, _claims = security.issue_token(
        settings.resolved_jwt_secret(), principal.id, "access", timedelta(minutes=minutes)
    )
    response = RedirectResponse(area.path, status_code=303)
    set_session(area, response, token, minutes * 60, request.url.scheme == "https")
    return response


async def sign_out(
    area: Area, request: Request, session: AsyncSession, settings: Settings, sent_token: str
) -> Response:
    principal = await optional_principal(area, request, session, settings)
    if principal is not None and sent_token != csrf_token(settings, principal):
        raise Forbidden(messages.CSRF_MISSING)
    if principal is not None:
        # The cookie goes, and the token in it stops working too (a copy taken from this
        # browser would otherwise last the rest of the test day).
        await auth_service.sign_out(session, principal)
    response = RedirectResponse(f"{area.path}/sign-in", status_code=303)
    clear_session(area, response)
    return response


def csrf_token(settings: Settings, principal: Principal) -> str:
    key = settings.resolved_jwt_secret().encode()
    return hmac.new(key, b"csrf:" + principal.claims.token_id.encode(), hashlib.sha256).hexdigest()


def set_session(area: Area, response: Response, token: str, seconds: int, secure: bool) -> None:
    response.set_cookie(
        area.cookie, token, max_age=seconds, path=area.path,
        httponly=True, samesite="strict", secure=secure,
    )  # fmt: skip


def clear_session(area: Area, response: Response) -> None:
    response.delete_cookie(area.cookie, path=area.path, httponly=True, samesite="strict")


def form_token(request: Request) -> tuple[str, bool]:
    """The sign-in form's double-submit value: the cookie's, or a new one (True: set it)."""
    value = request.cookies.get(FORM_COOKIE)
    if value and len(value) <= 100:
        return value, False
    return secrets.token_urlsafe(24), True


def set_form_cookie(area: Area, response: Response, value: str, secure: bool) -> None:
    response.set_cookie(
        FORM_COOKIE, value, path=area.path, httponly=True, samesite="strict", secure=secure
    )


def form_token_matches(request: Request, sent: str) -> bool:
    expected = request.cookies.get(FORM_COOKIE) or ""
    return bool(expected) and hmac.compare_digest(expected.encode(), sent.encode())


class StaffCaller:
    """Who called a page's route, and how: a cookie (the page; CSRF applies) or a bearer
    token (a script; no ambient authority, so no CSRF)."""

    def __init__(self, principal: Principal, by_cookie: bool) -> None:
        self.principal = principal
        self.by_cookie = by_cookie


def _token(request: Request, area: Area) -> tuple[str | None, bool]:
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        return bearer.strip(), False
    return request.cookies.get(area.cookie), True


CallerDependency = Callable[[Request, AsyncSession, Settings], Awaitable[StaffCaller]]


def caller_of(area: Area) -> CallerDependency:
    async def get_caller(
        request: Request, session: SessionDep, settings: SettingsDep
    ) -> StaffCaller:
        token, by_cookie = _token(request, area)
        principal = await authenticate(session, settings, token)
        return StaffCaller(principal, by_cookie)

    return get_caller


def changing_caller_of(area: Area) -> CallerDependency:
    """A caller of a state-changing route: from the page, the CSRF header must match."""
    get_caller = caller_of(area)

    async def get_changing_caller(
        request: Request, session: SessionDep, settings: SettingsDep
    ) -> StaffCaller:
        caller = await get_caller(request, session, settings)
        if caller.by_cookie:
            sent = request.headers.get(CSRF_HEADER, "")
            expected = csrf_token(settings, caller.principal)
            if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
                raise Forbidden(messages.CSRF_MISSING)
        return caller

    return get_changing_caller


async def optional_principal(
    area: Area, request: Request, session: AsyncSession, settings: Settings
) -> Principal | None:
    """The page's signed-in user, or None (no cookie, expired, or forged)."""
    token = request.cookies.get(area.cookie)
    if not token:
        return None
    try:
        return await authenticate(session, settings, token)
    except DomainError:  # any refusal means "sign in again"
        return None


Caller = Annotated[StaffCaller, Depends(caller_of(CONSOLE))]
ChangingCaller = Annotated[StaffCaller, Depends(changing_caller_of(CONSOLE))]
ReviewCaller = Annotated[StaffCaller, Depends(caller_of(REVIEW))]
ReviewChangingCaller = Annotated[StaffCaller, Depends(changing_caller_of(REVIEW))]
