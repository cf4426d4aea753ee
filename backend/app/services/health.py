"""Health: is the database reachable and migrated to the schema this build expects."""

from __future__ import annotations

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import __version__
from backend.app.core.migrate import current_revision
from backend.app.schemas.health import HealthResponse

logger = structlog.get_logger(__name__)


async def check_health(engine: AsyncEngine, expected_revision: str | None) -> HealthResponse:
    try:
        revision = await current_revision(engine)
    except (SQLAlchemyError, OSError) as exc:
        logger.warning("health_database_unreachable", error=type(exc).__name__)
        return HealthResponse(
            status="degraded",
            version=__version__,
            database="unreachable",
            schema_revision=None,
            schema_current=False,
        )
    current = revision == expected_revision
    return HealthResponse(
        status="ok" if current else "degraded",
        version=__version__,
        database="ok",
        schema_revision=revision,
        schema_current=current,
    )
