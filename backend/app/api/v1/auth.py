from __future__ import annotations

from fastapi import APIRouter, Request, status

from backend.app.api.deps import ClientAddress, CurrentPrincipal, SessionDep, SettingsDep
from backend.app.api.responses import refusals
from backend.app.schemas.auth import LoginRequest, RegisterRequest, TokenResponse, UserRead
from backend.app.services import auth

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(400, 409),
)
async def register(body: RegisterRequest, session: SessionDep) -> UserRead:
    """Create a candidate account. 409 when the e-mail is taken."""
    return await auth.register(session, body)


@router.post("/login", response_model=TokenResponse, responses=refusals(400, 401, 429))
async def login(
    body: LoginRequest, session: SessionDep, settings: SettingsDep, client: ClientAddress
) -> TokenResponse:
    """Exchange e-mail and password for a bearer token. 429 after 5 failures for the e-mail,
    or 20 from the client's address, within 15 minutes (settings)."""
    return await auth.login(session, settings, body, client)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=refusals(401))
async def logout(request: Request, principal: CurrentPrincipal, session: SessionDep) -> None:
    """Revoke the bearer token of this request: from now on it gets 401 everywhere, on REST
    and on the WebSockets, until it would have expired anyway, and an audio stream it opened
    is closed (4001). Any kind of token."""
    await auth.sign_out(session, principal, streams=request.app.state.streams)


@router.get("/me", response_model=UserRead, responses=refusals(401))
async def me(principal: CurrentPrincipal) -> UserRead:
    return auth.profile(principal)
