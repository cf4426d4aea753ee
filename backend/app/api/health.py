from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from backend.app.api.deps import EngineDep
from backend.app.schemas.health import HealthResponse
from backend.app.services.health import check_health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={
        503: {"model": HealthResponse, "description": "The database is unreachable or behind"}
    },
)
async def health(request: Request, response: Response, engine: EngineDep) -> HealthResponse:
    """Liveness and readiness: 200 when the database is reachable and migrated, else 503."""
    result = await check_health(engine, request.app.state.schema_head)
    if result.status != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return result
