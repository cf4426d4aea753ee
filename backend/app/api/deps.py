"""Dependencies shared by routes, as ``Annotated`` aliases.

Everything comes from ``app.state`` (built once in ``create_app``), never from module globals,
so tests and the embedded backend can run several apps side by side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.app.core.config import Settings
from backend.app.services.auth import Principal, authenticate
from backend.app.services.catalog import Catalog
from backend.app.services.question_speech import SpeechEngine
from backend.app.services.transcription.worker import TranscriptionWorker

# auto_error=False: a missing token is our 401 with our message, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="A sign-in or proctor-launched session token")


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def get_speech(request: Request) -> SpeechEngine | None:
    speech: SpeechEngine | None = request.app.state.speech
    return speech


def get_transcription(request: Request) -> TranscriptionWorker:
    worker: TranscriptionWorker = request.app.state.transcription
    return worker


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SpeechDep = Annotated[SpeechEngine | None, Depends(get_speech)]
TranscriptionDep = Annotated[TranscriptionWorker, Depends(get_transcription)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]


async def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return await authenticate(session, settings, credentials.credentials if credentials else None)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_ws_base_url(request: Request, settings: SettingsDep) -> str:
    """``IK_WS_BASE_URL``, or the address the client used: http -> ws, https -> wss.

    Behind a reverse proxy the scheme comes from X-Forwarded-Proto and the host from
    X-Forwarded-Host, both believed from ``IK_TRUSTED_PROXIES`` only (core/proxies.py).
    """
    if settings.ws_base_url:
        return settings.ws_base_url.rstrip("/")
    scheme = "wss" if request.url.scheme in ("https", "wss") else "ws"
    forwarded_host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
    host = forwarded_host or request.headers.get("host") or request.url.netloc
    return f"{scheme}://{host}"


WsBaseUrl = Annotated[str, Depends(get_ws_base_url)]


def get_client_address(request: Request) -> str | None:
    """The caller's address: the peer's, or X-Forwarded-For's when the peer is one of
    ``IK_TRUSTED_PROXIES`` (uvicorn's proxy-headers middleware decides, in core/proxies.py)."""
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(get_client_address)]
