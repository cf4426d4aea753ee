"""``/shared/{token}``: one interview, read-only, for a hiring manager without an account
(``services.review.sharing`` decides what a link opens; this only draws it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from backend.app.api.deps import SessionDep, SettingsDep, TranscriptionDep
from backend.app.core.errors import NotFound
from backend.app.repositories import audit
from backend.app.services import interviews
from backend.app.services.answer_audio import RangeNotSatisfiable
from backend.app.services.review import sharing, sheet
from backend.app.web.console import SECURITY_HEADERS, STATIC_URL, templates

router = APIRouter(prefix="/shared", include_in_schema=False)


def _page(request: Request, name: str, context: dict[str, object], status: int = 200) -> Response:
    response = templates.TemplateResponse(
        request, name, {"static_url": STATIC_URL, "page_name": "Shared interview", **context},
        status_code=status,
    )  # fmt: skip
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/{token}", response_class=HTMLResponse)
async def shared_interview(
    request: Request, session: SessionDep, transcription: TranscriptionDep, token: str
) -> Response:
    try:
        link, found = await sheet.shared_sheet(session, token, transcription.enabled)
    except sharing.LinkGone as exc:
        return _page(request, "review/error.html",
                     {"title": "Link expired", "heading": "This link no longer opens",
                      "error": exc.detail, "no_home": True}, exc.status_code)  # fmt: skip
    audit.record(session, None, "share_link_opened", "interview", link.interview_id,
                 share_link=str(link.id))  # fmt: skip
    await session.commit()
    return _page(request, "review/shared.html", {
        "title": f"Interview · {found.candidate_name}", "sheet": found, "token": token,
        "expires_at": link.expires_at,
    })  # fmt: skip


@router.get("/{token}/questions/{index}/answer")
async def shared_answer(
    session: SessionDep,
    settings: SettingsDep,
    token: str,
    index: int,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> Response:
    link, interview, private = await sharing.opened(session, token)
    if index in private:  # as if it did not exist
        raise NotFound(interviews.no_such_question(interview.id, index))
    try:
        wav = interviews.answer_of(interview, settings, index, range_header)
    except RangeNotSatisfiable as exc:
        return Response(status_code=416, headers={"Content-Range": exc.content_range})
    if range_header is None or range_header.replace(" ", "").lower().startswith("bytes=0-"):
        audit.record(session, None, "answer_played", "interview", interview.id,
                     question_index=index, share_link=str(link.id))  # fmt: skip
        await session.commit()
    return StreamingResponse(
        wav.chunks, status_code=wav.status_code, media_type="audio/wav",
        headers={**wav.headers, "Cache-Control": "private, no-store"},
    )  # fmt: skip
