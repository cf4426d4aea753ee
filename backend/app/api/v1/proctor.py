from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.app.api.deps import CurrentPrincipal, SessionDep, SettingsDep
from backend.app.api.responses import refusals
from backend.app.schemas.base import NO_NUL_PATTERN
from backend.app.schemas.proctor import CandidateRead, SessionLaunchRequest, SessionLaunchResponse
from backend.app.services import proctor

router = APIRouter(prefix="/proctor", tags=["proctor"])


@router.get("/candidates", response_model=list[CandidateRead], responses=refusals(401, 403))
async def candidates(
    session: SessionDep,
    principal: CurrentPrincipal,
    query: Annotated[str, Query(max_length=200, pattern=NO_NUL_PATTERN)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[CandidateRead]:
    return await proctor.find_candidates(session, principal, query, limit)


@router.post(
    "/sessions",
    response_model=SessionLaunchResponse,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(400, 401, 403, 404),
)
async def launch(
    body: SessionLaunchRequest,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> SessionLaunchResponse:
    """Launch a candidate's session at a kiosk: a candidate-scoped token, no password typed,
    with any extra time the proctor grants."""
    return await proctor.launch_session(
        session, principal, settings, body.candidate_email, body.kiosk_id, body.accommodation
    )
