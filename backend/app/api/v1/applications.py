from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from backend.app.api.deps import CurrentPrincipal, SessionDep
from backend.app.api.responses import refusals
from backend.app.schemas.jobs import ApplicationCreate, ApplicationRead
from backend.app.services import applications

router = APIRouter(prefix="/applications", tags=["applications"])


@router.post(
    "",
    response_model=ApplicationRead,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(400, 401, 403, 404, 409),
)
async def apply(
    body: ApplicationCreate, session: SessionDep, principal: CurrentPrincipal
) -> ApplicationRead:
    return await applications.apply(session, principal, body.job_posting_id)


@router.get("", response_model=list[ApplicationRead], responses=refusals(401))
async def list_own(session: SessionDep, principal: CurrentPrincipal) -> list[ApplicationRead]:
    """The caller's own applications, each with its posting and latest interview status."""
    return await applications.list_own(session, principal)


@router.get("/{application_id}", response_model=ApplicationRead, responses=refusals(401, 403, 404))
async def get(
    application_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> ApplicationRead:
    return await applications.get(session, principal, application_id)
