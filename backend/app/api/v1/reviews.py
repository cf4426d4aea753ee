"""The hiring team's API: the review list, each interview's reviews, the caller's review."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from backend.app.api.deps import CurrentPrincipal, SessionDep, SettingsDep
from backend.app.api.responses import csv_response, refusals
from backend.app.models.enums import ReviewStatus
from backend.app.schemas.reviews import (
    CandidateDeletion,
    InterviewReviews,
    ReviewActivity,
    ReviewQueueRow,
    ReviewUpdate,
    ShareLinkCreate,
    ShareLinkCreated,
    ShareLinkRead,
)
from backend.app.services.review import activity, export, queue, ratings, retention, sharing
from backend.app.services.streaming.registry import StreamRegistry

router = APIRouter(tags=["reviews"])


@router.get("/reviews", response_model=list[ReviewQueueRow], responses=refusals(401, 403))
async def review_queue(
    session: SessionDep,
    principal: CurrentPrincipal,
    posting_id: uuid.UUID | None = None,
    status: ReviewStatus | None = None,
) -> list[ReviewQueueRow]:
    """Completed interviews of the caller's postings (admins: every posting), newest first."""
    return await queue.review_queue(session, principal, posting_id, status)


@router.get(
    "/interviews/{interview_id}/reviews",
    response_model=InterviewReviews,
    responses=refusals(401, 403, 404),
)
async def interview_reviews(
    interview_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> InterviewReviews:
    """The caller's review, and the others' once the caller has submitted (blind scoring)."""
    return await ratings.reviews_of(session, principal, interview_id)


@router.put(
    "/interviews/{interview_id}/review",
    response_model=InterviewReviews,
    responses=refusals(400, 401, 403, 404),
)
async def save_review(
    interview_id: uuid.UUID, body: ReviewUpdate, session: SessionDep, principal: CurrentPrincipal
) -> InterviewReviews:
    """Save the caller's review (a draft), or submit it with ``submit``: every answered
    question rated and a recommendation chosen."""
    return await ratings.save_review(session, principal, interview_id, body)


@router.get(
    "/interviews/{interview_id}/review-activity",
    response_model=list[ReviewActivity],
    responses=refusals(401, 403, 404),
)
async def review_activity(
    interview_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> list[ReviewActivity]:
    """Who listened to which answer and who saved or submitted a review, when (admins)."""
    return await activity.review_activity(session, principal, interview_id)


@router.delete(
    "/candidates/{candidate_id}/interviews",
    response_model=CandidateDeletion,
    responses=refusals(401, 403, 404, 409),
)
async def delete_candidate_interviews(
    candidate_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> CandidateDeletion:
    """Delete every interview of the candidate at once (admins): recordings, questions read
    aloud and transcripts from disk, and the rows with their reviews; audited."""
    streams: StreamRegistry = request.app.state.streams
    return await retention.delete_candidate_interviews(
        session, principal, candidate_id, settings.data_dir, streams.is_streaming
    )


@router.post(
    "/interviews/{interview_id}/share-links",
    response_model=ShareLinkCreated,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(400, 401, 403, 404, 409),
)
async def create_share_link(
    interview_id: uuid.UUID,
    body: ShareLinkCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ShareLinkCreated:
    """A read-only link to this interview for someone without an account, expiring after
    ``days`` (default 7); the URL is shown once. Admins and the posting's reviewers."""
    return await sharing.create(session, principal, interview_id, body.days, str(request.base_url))


@router.get(
    "/interviews/{interview_id}/share-links",
    response_model=list[ShareLinkRead],
    responses=refusals(401, 403, 404),
)
async def list_share_links(
    interview_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> list[ShareLinkRead]:
    return await sharing.list_for(session, principal, interview_id)


@router.delete(
    "/share-links/{link_id}", response_model=ShareLinkRead, responses=refusals(401, 403, 404)
)
async def revoke_share_link(
    link_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> ShareLinkRead:
    """Revoke a share link at once (saying it twice changes nothing)."""
    return await sharing.revoke(session, principal, link_id)


@router.get(
    "/job-postings/{posting_id}/reviews.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **refusals(401, 403, 404)},
)
async def reviews_csv(
    posting_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The posting's completed interviews as CSV: one row each, a column per question's
    average rating, the recommendations (a reviewer sees ratings only of interviews they have
    reviewed themselves). Admins and the posting's reviewers."""
    name, body = await export.posting_csv(session, principal, posting_id)
    return csv_response(name, body)
