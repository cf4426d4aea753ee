"""Application factory. Every long-lived object is built here once and kept on ``app.state``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError

from backend import __version__
from backend.app.api import health
from backend.app.api import v1 as api_v1
from backend.app.api import ws as api_ws
from backend.app.core.config import Settings, get_settings
from backend.app.core.db import create_engine, create_sessionmaker
from backend.app.core.errors import DomainError, TooManyRequests, Unauthorized
from backend.app.core.migrate import head_revision
from backend.app.core.request_context import RequestContextMiddleware
from backend.app.services.catalog import Catalog
from backend.app.services.question_speech import find_engine
from backend.app.services.review.retention import RetentionJob
from backend.app.services.room.hub import RoomHub
from backend.app.services.streaming.journal import Journal
from backend.app.services.streaming.registry import StreamRegistry
from backend.app.services.transcription.engine import find_model
from backend.app.services.transcription.worker import TranscriptionWorker
from backend.app.web import console as web_console
from backend.app.web import review as web_review
from backend.app.web import shared as web_shared

logger = structlog.get_logger(__name__)


async def _domain_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """The one place domain errors become HTTP answers."""
    assert isinstance(exc, DomainError)
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return JSONResponse(
        status_code=exc.status_code, content={"detail": exc.detail}, headers=headers
    )


async def _database_busy_handler(_request: Request, exc: Exception) -> JSONResponse:
    """SQLite allows one writer; past the busy timeout a request is told to retry, not 500."""
    assert isinstance(exc, OperationalError)
    if "database is locked" not in str(exc.orig):
        raise exc  # any other database failure stays a server error
    return JSONResponse(
        status_code=503,
        content={"detail": "The database is busy; try again in a moment."},
        headers={"Retry-After": "1"},
    )


def create_app(settings: Settings | None = None, catalog: Catalog | None = None) -> FastAPI:
    """Build the FastAPI app for ``settings`` (environment settings when omitted)."""
    settings = settings or get_settings()
    catalog = catalog or Catalog.load()
    engine = create_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Read or generate it now, not in the first sign-in: an unwritable data directory
        # fails the start-up, and no request waits on the file.
        settings.resolved_jwt_secret()
        # Replays the journals of backend processes that are gone, then starts this one's.
        await app.state.journal.open()
        # Which event loop runs it: `serve` takes uvloop when the `server` extra is there.
        loop_module = type(asyncio.get_running_loop()).__module__.split(".")[0]
        logger.info("backend_started", version=__version__, event_loop=loop_module)
        # (Enrolled seats are read when a console opens the room, not here: a backend must
        # start, and say so on /health, before its database is migrated.)
        background = [
            asyncio.create_task(app.state.room.watch()),
            asyncio.create_task(app.state.transcription.run()),
            asyncio.create_task(RetentionJob(app.state.sessionmaker, settings).run()),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await app.state.streams.close()
            await app.state.journal.close()
            await engine.dispose()

    app = FastAPI(title="Interview Kiosk backend", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.schema_head = head_revision(settings)
    app.state.catalog = catalog
    app.state.streams = StreamRegistry.for_database(settings.resolved_database_url())
    app.state.journal = Journal(settings.data_dir, settings.journal_segment_bytes)
    app.state.speech = find_engine(settings)
    app.state.room = RoomHub()
    app.state.transcription = TranscriptionWorker(
        app.state.sessionmaker, settings, find_model(settings)
    )
    app.add_middleware(RequestContextMiddleware)
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(OperationalError, _database_busy_handler)
    app.include_router(health.router)
    app.include_router(api_v1.router)
    app.include_router(api_v1.legacy_router)
    app.include_router(api_ws.router)
    app.include_router(web_console.router)
    app.include_router(web_review.router)
    app.include_router(web_shared.router)
    app.mount(web_console.STATIC_URL, StaticFiles(directory=web_console.HERE / "static"),
              name="console-static")  # fmt: skip
    return app
