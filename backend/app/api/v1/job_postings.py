from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from backend.app.api.deps import CurrentPrincipal, SessionDep
from backend.app.api.responses import refusals
from backend.app.schemas.jobs import (
    JobPostingAdminRead,
    JobPostingCreate,
    JobPostingRead,
    JobPostingUpdate,
)
from backend.app.schemas.reviews import PostingReviewersUpdate, ReviewerRead
from backend.app.services import postings
from backend.app.services.review import assignments

router = APIRouter(prefix="/job-postings", tags=["job postings"])


@router.get("", response_model=list[JobPostingRead], responses=refusals(401))
async def list_active(session: SessionDep, principal: CurrentPrincipal) -> list[JobPostingRead]:
    return await postings.list_active(session, principal)


@router.post(
    "",
    response_model=JobPostingAdminRead,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(400, 401, 403),
)
async def create(
    body: JobPostingCreate, session: SessionDep, principal: CurrentPrincipal
) -> JobPostingAdminRead:
    """Create a posting (admins). ``tech_stack`` may be one technology, a list, or null."""
    return await postings.create(session, principal, body)


@router.patch(
    "/{posting_id}", response_model=JobPostingAdminRead, responses=refusals(400, 401, 403, 404)
)
async def update(
    posting_id: uuid.UUID, body: JobPostingUpdate, session: SessionDep, principal: CurrentPrincipal
) -> JobPostingAdminRead:
    """Change the fields sent (admins); ``tech_stack`` as on create, null clears it."""
    return await postings.update(session, principal, posting_id, body)


@router.get(
    "/{posting_id}/reviewers",
    response_model=list[ReviewerRead],
    responses=refusals(401, 403, 404),
)
async def reviewers(
    posting_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> list[ReviewerRead]:
    """The reviewers who see this posting's completed interviews (admins)."""
    return await assignments.reviewers_of(session, principal, posting_id)


@router.put(
    "/{posting_id}/reviewers",
    response_model=list[ReviewerRead],
    responses=refusals(400, 401, 403, 404),
)
async def set_reviewers(
    posting_id: uuid.UUID,
    body: PostingReviewersUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> list[ReviewerRead]:
    """Replace the posting's reviewers (admins); each id must be a reviewer account."""
    return await assignments.set_reviewers(session, principal, posting_id, body.reviewer_ids)
