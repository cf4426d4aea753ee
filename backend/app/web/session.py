"""The staff pages' sign-in: an HttpOnly, SameSite=Strict cookie holding a signed token, and a
CSRF token bound to it.

The CSRF token is an HMAC of the session token's id under the backend's secret: nothing to
store, different for every sign-in, and useless to a page that cannot read the console's
HTML. Before sign-in, the form is protected by a random value kept both in a cookie and in
the form (double submit), so another site cannot sign a proctor into an account it chose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.api.deps import SessionDep, SettingsDep
from backend.app.core.config import Settings
from backend.app.core.errors import DomainError, Forbidden
from backend.app.services import messages
from backend.app.services.auth import Principal, authenticate

SESSION_COOKIE = "ik_console"
FORM_COOKIE = "ik_form"
CSRF_HEADER = "X-CSRF-Token"
PATH = "/console"


def csrf_token(settings: Settings, principal: Principal) -> str:
    key = settings.resolved_jwt_secret().encode()
    return hmac.new(key, b"csrf:" + principal.claims.token_id.encode(), hashlib.sha256).hexdigest()


def set_session(response: Response, token: str, seconds: int, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=seconds, path=PATH,
        httponly=True, samesite="strict", secure=secure,
    )  # fmt: skip


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=PATH, httponly=True, samesite="strict")


def form_token(request: Request) -> tuple[str, bool]:
    """The sign-in form's double-submit value: the cookie's, or a new one (True: set it)."""
    value = request.cookies.get(FORM_COOKIE)
    if value and len(value) <= 100:
        return value, False
    return secrets.token_urlsafe(24), True


def set_form_cookie(response: Response, value: str, secure: bool) -> None:
    response.set_cookie(
        FORM_COOKIE, value, path=PATH, httponly=True, samesite="strict", secure=secure
    )


def form_token_matches(request: Request, sent: str) -> bool:
    expected = request.cookies.get(FORM_COOKIE) or ""
    return bool(expected) and hmac.compare_digest(expected.encode(), sent.encode())


class StaffCaller:
    """Who called a console route, and how: a cookie (the page; CSRF applies) or a bearer
    token (a script; no ambient authority, so no CSRF)."""

    def __init__(self, principal: Principal, by_cookie: bool) -> None:
        self.principal = principal
        self.by_cookie = by_cookie


def _token(request: Request) -> tuple[str | None, bool]:
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        return bearer.strip(), False
    return request.cookies.get(SESSION_COOKIE), True


async def get_caller(request: Request, session: SessionDep, settings: SettingsDep) -> StaffCaller:
    token, by_cookie = _token(request)
    principal = await authenticate(session, settings, token)
    return StaffCaller(principal, by_cookie)


async def get_changing_caller(
    request: Request, session: SessionDep, settings: SettingsDep
) -> StaffCaller:
    """A caller of a state-changing route: from the page, the CSRF header must match."""
    caller = await get_caller(request, session, settings)
    if caller.by_cookie:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = csrf_token(settings, caller.principal)
        if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise Forbidden(messages.CSRF_MISSING)
    return caller


async def optional_principal(
    request: Request, session: AsyncSession, settings: Settings
) -> Principal | None:
    """The page's signed-in user, or None (no cookie, expired, or forged)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await authenticate(session, settings, token)
    except DomainError:  # any refusal means "sign in again"
        return None


Caller = Annotated[StaffCaller, Depends(get_caller)]
ChangingCaller = Annotated[StaffCaller, Depends(get_changing_caller)]
