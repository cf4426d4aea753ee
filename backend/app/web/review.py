"""``/review``: the hiring team's page. Thin routes: who may review what lives in
``services.review``, the look in the templates, the player and the form in review.js.

Same sign-in rules as the room console (``web.session``): an HttpOnly SameSite=Strict cookie
for ``/review`` only, a CSRF token on every change, the same security headers.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from backend.app.api.deps import SessionDep, SettingsDep, TranscriptionDep
from backend.app.api.responses import csv_response
from backend.app.core.errors import DomainError
from backend.app.models.enums import Recommendation, ReviewStatus
from backend.app.repositories import audit
from backend.app.schemas.reviews import (
    InterviewReviews,
    ReviewUpdate,
    ShareLinkCreate,
    ShareLinkCreated,
    ShareLinkRead,
)
from backend.app.services import interviews
from backend.app.services.answer_audio import RangeNotSatisfiable
from backend.app.services.review import export, queue, ratings, sharing, sheet
from backend.app.web import session as web_session
from backend.app.web.console import SECURITY_HEADERS, STATIC_URL, templates
from backend.app.web.session import ReviewCaller, ReviewChangingCaller

router = APIRouter(prefix="/review", include_in_schema=False)
AREA = web_session.REVIEW
PAGE = {"page_name": "Review", "home_url": "/review", "sign_out_action": "/review/sign-out"}


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    response = templates.TemplateResponse(
        request, name, {"static_url": STATIC_URL, **PAGE, **context}, status_code=status
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _sign_in_page(
    request: Request, error: str | None = None, email: str = "", status: int = 200
) -> Response:
    token, new = web_session.form_token(request)
    context = {
        "title": "Review · sign in", "error": error, "email": email, "csrf_token": token,
        "sign_in_action": "/review/sign-in",
        "lede": "Reviewers and admins sign in with their Interview Kiosk account.",
    }  # fmt: skip
    page = _page(request, "console/sign_in.html", context, status)
    if new:
        web_session.set_form_cookie(AREA, page, token, secure=request.url.scheme == "https")
    return page


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return await web_session.sign_in(
        AREA, request, session, settings, (email, password, csrf_token),
        partial(_sign_in_page, request),
    )  # fmt: skip


@router.post("/sign-out")
async def sign_out(
    request: Request, session: SessionDep, settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    return await web_session.sign_out(AREA, request, session, settings, csrf_token)


@router.get("", response_class=HTMLResponse)
async def review_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    posting: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=32)] = "",
    sort: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    principal = await web_session.optional_principal(AREA, request, session, settings)
    if principal is None:
        return RedirectResponse("/review/sign-in", status_code=303)
    # The filter form sends every field, empty for "all": a value it could not have sent
    # (an edited URL) filters nothing rather than answering a browser with JSON.
    chosen = queue.filters(posting, status, sort)
    try:
        listing = await queue.review_listing(session, principal, *chosen)
    except DomainError as exc:
        return _sign_in_page(request, exc.detail, principal.user.email, exc.status_code)
    return _page(request, "review/list.html", {
        "title": "Review · interviews", "user_name": principal.user.full_name,
        "csrf_token": web_session.csrf_token(settings, principal), "listing": listing,
        "statuses": list(ReviewStatus), "sorts": queue.SORTS,
    })  # fmt: skip


@router.get("/interviews/{interview_id}", response_class=HTMLResponse)
async def interview_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    transcription: TranscriptionDep,
    interview_id: uuid.UUID,
) -> Response:
    principal = await web_session.optional_principal(AREA, request, session, settings)
    if principal is None:
        return RedirectResponse("/review/sign-in", status_code=303)
    try:
        found = await sheet.interview_sheet(session, principal, interview_id, transcription.enabled)
    except DomainError as exc:
        return _page(request, "review/error.html", {
            "title": "Review", "user_name": principal.user.full_name,
            "csrf_token": web_session.csrf_token(settings, principal),
            "heading": "This interview cannot be shown", "error": exc.detail,
        }, exc.status_code)  # fmt: skip
    return _page(request, "review/interview.html", {
        "title": f"Review · {found.candidate_name}", "user_name": principal.user.full_name,
        "csrf_token": web_session.csrf_token(settings, principal), "sheet": found,
        "scale": sheet.RATING_SCALE, "recommendations": list(Recommendation),
        "links": await sharing.list_for(session, principal, interview_id),
    })  # fmt: skip


@router.get("/interviews/{interview_id}/questions/{index}/answer")
async def answer_audio(
    session: SessionDep,
    settings: SettingsDep,
    caller: ReviewCaller,
    interview_id: uuid.UUID,
    index: int,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> Response:
    """The kept take, with HTTP Range for the player's seeking; a listen is audited once, at
    its first byte (a player asks again for every seek)."""
    await ratings.reviewable(session, caller.principal, interview_id)
    try:
        wav = await interviews.answer_for(
            session, caller.principal, settings, interview_id, index, range_header
        )
    except RangeNotSatisfiable as exc:
        return Response(status_code=416, headers={"Content-Range": exc.content_range})
    if range_header is None or range_header.replace(" ", "").lower().startswith("bytes=0-"):
        audit.record(session, caller.principal.id, "answer_played", "interview", interview_id,
                     question_index=index)  # fmt: skip
        await session.commit()
    return StreamingResponse(
        wav.chunks, status_code=wav.status_code, media_type="audio/wav",
        headers={**wav.headers, "Cache-Control": "private, no-store"},
    )  # fmt: skip


@router.put("/interviews/{interview_id}/review")
async def save_review(
    session: SessionDep, caller: ReviewChangingCaller, interview_id: uuid.UUID, body: ReviewUpdate
) -> InterviewReviews:
    return await ratings.save_review(session, caller.principal, interview_id, body)


@router.post("/interviews/{interview_id}/share-links")
async def create_share_link(
    request: Request, session: SessionDep, caller: ReviewChangingCaller, interview_id: uuid.UUID,
    body: ShareLinkCreate,
) -> ShareLinkCreated:  # fmt: skip
    return await sharing.create(
        session, caller.principal, interview_id, body.days, str(request.base_url)
    )


@router.post("/share-links/{link_id}/revoke")
async def revoke_share_link(
    session: SessionDep, caller: ReviewChangingCaller, link_id: uuid.UUID
) -> ShareLinkRead:
    return await sharing.revoke(session, caller.principal, link_id)


@router.get("/postings/{posting_id}/reviews.csv")
async def reviews_csv(session: SessionDep, caller: ReviewCaller, posting_id: uuid.UUID) -> Response:
    name, body = await export.posting_csv(session, caller.principal, posting_id)
    return csv_response(name, body)
