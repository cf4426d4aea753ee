from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from backend.app.api.deps import (
    CatalogDep,
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    SpeechDep,
    TranscriptionDep,
    WsBaseUrl,
)
from backend.app.api.responses import refusals
from backend.app.models.enums import InterviewStatus
from backend.app.schemas.base import NO_NUL_PATTERN
from backend.app.schemas.errors import ErrorResponse
from backend.app.schemas.incidents import IncidentRead
from backend.app.schemas.interviews import (
    InterviewDetail,
    InterviewRead,
    InterviewStartRequest,
    InterviewStartResponse,
    PlanningStatusResponse,
    PreflightRequest,
)
from backend.app.schemas.reviews import InterviewTranscripts
from backend.app.services import incidents, interviews, question_speech
from backend.app.services.answer_audio import RangeNotSatisfiable
from backend.app.services.review import transcripts

router = APIRouter(prefix="/interviews", tags=["interviews"])
# Also mounted at /api for the planning service's existing clients.
planning_router = APIRouter(prefix="/interviews", tags=["interview planning"])


@planning_router.post(
    "/plan",
    response_model=PlanningStatusResponse,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(400, 401, 403, 404),
)
async def plan(
    body: InterviewStartRequest,
    session: SessionDep,
    principal: CurrentPrincipal,
    catalog: CatalogDep,
    settings: SettingsDep,
    ws_base_url: WsBaseUrl,
) -> PlanningStatusResponse:
    """Plan an interview and return at once the WebSocket URL to stream its audio to."""
    return await interviews.plan(session, principal, catalog, settings, body, ws_base_url)


@planning_router.get(
    "/{interview_id}/plan",
    response_model=PlanningStatusResponse,
    responses=refusals(401, 403, 404),
)
async def get_plan(
    interview_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    ws_base_url: WsBaseUrl,
) -> PlanningStatusResponse:
    return await interviews.get_plan(session, principal, interview_id, ws_base_url)


@router.post(
    "/start",
    response_model=InterviewStartResponse,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(400, 401, 403, 404),
)
async def start(
    body: InterviewStartRequest,
    session: SessionDep,
    principal: CurrentPrincipal,
    catalog: CatalogDep,
    settings: SettingsDep,
    ws_base_url: WsBaseUrl,
) -> InterviewStartResponse:
    """Start an interview for a job application (role from the posting) or a role type.

    201 with the interview's fields, its ``first_question`` and the ``ws_url`` to stream to.
    """
    return await interviews.start(session, principal, catalog, settings, body, ws_base_url)


@router.get("", response_model=list[InterviewRead], responses=refusals(401))
async def list_interviews(
    session: SessionDep,
    principal: CurrentPrincipal,
    status_filter: Annotated[InterviewStatus | None, Query(alias="status")] = None,
    kiosk_id: Annotated[str | None, Query(max_length=100, pattern=NO_NUL_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[InterviewRead]:
    """The caller's interviews; proctors and admins see everyone's."""
    return await interviews.list_for(session, principal, status_filter, kiosk_id, limit)


@router.get(
    "/{interview_id}/recording",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "the recording as WAV"},
        **refusals(401, 403, 404),
    },
)
async def recording(
    interview_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> StreamingResponse:
    """The whole recording so far, as a WAV file (the candidate, proctors, admins)."""
    wav = await interviews.recording_for(session, principal, settings, interview_id)
    return StreamingResponse(
        wav.chunks, media_type="audio/wav", headers={"Content-Length": str(wav.content_length)}
    )


_WAV = {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}
_ACCEPT_RANGES = {
    "description": "Ranges may be asked for, in bytes",
    "required": True,
    "schema": {"type": "string", "enum": ["bytes"]},
}


def _content_range(description: str, example: str) -> dict[str, object]:
    return {"description": description, "required": True,
            "schema": {"type": "string", "example": example}}  # fmt: skip


@router.get(
    "/{interview_id}/questions/{index}/answer",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": _WAV,
            "description": "The kept take as a WAV file (16-bit PCM)",
            "headers": {"Accept-Ranges": _ACCEPT_RANGES},
        },
        206: {
            "content": _WAV,
            "description": "The part of the WAV file the Range header asked for",
            "headers": {
                "Accept-Ranges": _ACCEPT_RANGES,
                "Content-Range": _content_range("The bytes sent, of how many", "bytes 0-99/64044"),
            },
        },
        **refusals(401, 403),
        404: {
            **refusals(404)[404],
            "description": "No such interview or question, no kept answer yet, or no recording",
        },
        416: {
            "model": ErrorResponse,
            "description": "The range asked for lies outside the WAV file",
            "headers": {"Content-Range": _content_range("The file's length", "bytes */64044")},
        },
    },
)
async def answer(
    interview_id: uuid.UUID,
    index: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    range_header: Annotated[
        str | None,
        Header(
            alias="Range",
            description="One byte range of the WAV file: bytes=0-99, bytes=1000- or bytes=-500",
        ),
    ] = None,
) -> Response:
    """The kept take of question ``index`` as a WAV file, whole or the one byte range asked
    for (the candidate, proctors, admins)."""
    try:
        wav = await interviews.answer_for(
            session, principal, settings, interview_id, index, range_header
        )
    except RangeNotSatisfiable as unsatisfiable:
        # A 416 names the file's length, which the one DomainError handler cannot add.
        return JSONResponse(
            status_code=unsatisfiable.status_code,
            content={"detail": unsatisfiable.detail},
            headers={"Content-Range": unsatisfiable.content_range},
        )
    return StreamingResponse(
        wav.chunks, status_code=wav.status_code, media_type="audio/wav", headers=wav.headers
    )


@router.get(
    "/{interview_id}/questions/{index}/speech",
    response_class=FileResponse,
    responses={
        200: {"content": _WAV, "description": "The question read aloud, as a WAV file"},
        **refusals(401, 403),
        404: {**refusals(404)[404], "description": "No such interview or question"},
        502: {"model": ErrorResponse, "description": "The speech engine failed on this question"},
        503: {"model": ErrorResponse, "description": "Questions are text only on this server"},
    },
)
async def speech(
    interview_id: uuid.UUID,
    index: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    engine: SpeechDep,
) -> FileResponse:
    """Question ``index`` read aloud by the server's speech engine, rendered once and kept
    (the candidate, proctors, admins)."""
    path = await question_speech.question_speech(
        session, principal, settings.data_dir, engine, interview_id, index
    )
    return FileResponse(path, media_type="audio/wav")


@router.post(
    "/{interview_id}/preflight",
    response_model=InterviewDetail,
    responses=refusals(400, 401, 403, 404, 409),
)
async def preflight(
    interview_id: uuid.UUID,
    body: PreflightRequest,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> InterviewDetail:
    """Keep the seat's microphone check with the interview (the candidate's kiosk)."""
    return await interviews.record_preflight(session, principal, interview_id, body)


@router.get("/{interview_id}", response_model=InterviewDetail, responses=refusals(401, 403, 404))
async def get(
    interview_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> InterviewDetail:
    return await interviews.get_detail(session, principal, interview_id)


@router.get(
    "/{interview_id}/incidents",
    response_model=list[IncidentRead],
    responses=refusals(401, 403, 404),
)
async def list_incidents(
    interview_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> list[IncidentRead]:
    """Incidents proctors reported about this interview's seat from the room console (staff)."""
    return await incidents.of_interview(session, principal, interview_id)


@router.get(
    "/{interview_id}/transcripts",
    response_model=InterviewTranscripts,
    responses=refusals(401, 403, 404),
)
async def list_transcripts(
    interview_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    transcription: TranscriptionDep,
) -> InterviewTranscripts:
    """Each kept answer's transcript with word timings, or where its job stands (queued,
    transcribing, done, failed); for admins and the posting's reviewers."""
    model = transcription.model.name if transcription.model else None
    return await transcripts.transcripts_of(session, principal, interview_id, model)
