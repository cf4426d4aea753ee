"""Planning and starting interviews (the story "Enhanced Interview Start Endpoint"), and
reading them back."""

from __future__ import annotations

import uuid
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.config import Settings
from backend.app.core.errors import BadRequest, Conflict, Forbidden, NotFound
from backend.app.models import Interview, PlannedQuestion, Resume
from backend.app.models.enums import ApplicationStatus, InterviewStatus, PostingStatus
from backend.app.repositories import applications, audit, interviews
from backend.app.schemas.interviews import (
    InterviewDetail,
    InterviewRead,
    InterviewStartRequest,
    PlanningStatusResponse,
    PreflightRequest,
    QuestionRead,
)
from backend.app.services import messages
from backend.app.services.auth import Principal, require_candidate
from backend.app.services.catalog import Catalog
from backend.app.services.prompts import JobContext
from backend.app.services.streaming.recording import recording_path

logger = structlog.get_logger(__name__)


def ws_url(ws_base_url: str, interview_id: uuid.UUID) -> str:
    return f"{ws_base_url}/ws/interviews/{interview_id}"


async def plan_interview(
    session: AsyncSession,
    principal: Principal,
    catalog: Catalog,
    settings: Settings,
    request: InterviewStartRequest,
) -> Interview:
    """Create an interview with its planned questions for the calling candidate.

    With ``application_id`` (which wins over ``role_type``) the interview is linked to the
    application and its job posting, and the role comes from the posting.
    """
    logger.info(
        "start_interview_request",
        user_id=str(principal.id),
        application_id=str(request.application_id) if request.application_id else None,
        role_type=request.role_type,
    )
    require_candidate(principal)
    interview_id = uuid.uuid4()
    job: JobContext | None = None
    application = None
    if request.application_id is not None:
        application = await applications.get_for_new_interview(session, request.application_id)
        if application is None:
            raise NotFound(messages.application_not_found(request.application_id))
        if application.candidate_id != principal.id:
            raise Forbidden(messages.APPLICATION_FORBIDDEN)
        posting = application.job_posting
        if posting.status != PostingStatus.ACTIVE:
            raise BadRequest(messages.POSTING_NOT_ACTIVE)
        role_type = catalog.roles.for_posting(posting.tech_stack, posting.role_category)
        job = JobContext(
            title=posting.title,
            company=posting.company,
            role_category=posting.role_category,
            experience_level=posting.experience_level,
            description=posting.description,
            required_skills=tuple(posting.required_skills),
            tech_stack=tuple(posting.tech_stack),
        )
        logger.info(
            "interview_start_with_job_context",
            interview_id=str(interview_id),
            job_posting_id=str(posting.id),
            role_type=role_type,
        )
    elif request.role_type is not None:
        role_type = catalog.roles.resolve(request.role_type)
    else:
        raise BadRequest(messages.NEED_APPLICATION_OR_ROLE)

    if request.resume_id is not None:
        resume = await session.get(Resume, request.resume_id)
        if resume is None:
            raise NotFound(messages.resume_not_found(request.resume_id))
        if resume.candidate_id != principal.id:
            raise Forbidden(messages.RESUME_FORBIDDEN)

    planned = catalog.questions.plan(
        role_type,
        settings.planned_questions,
        seed=str(interview_id),
        required_skills=job.required_skills if job else (),
        tech_stack=job.tech_stack if job else (),
    )
    interview = Interview(
        id=interview_id,
        candidate_id=principal.id,
        resume_id=request.resume_id,
        job_posting_id=application.job_posting_id if application else None,
        application_id=application.id if application else None,
        role_type=role_type,
        status=InterviewStatus.SCHEDULED,
        system_prompt=catalog.prompts.system_prompt(role_type, job),
        kiosk_id=principal.claims.kiosk_id,
        proctor_id=principal.claims.proctor_id,
        questions=[
            PlannedQuestion(
                index=index,
                bank_id=question.id,
                text=question.text,
                difficulty=question.difficulty,
                skills=list(question.skills),
            )
            for index, question in enumerate(planned)
        ],
    )
    session.add(interview)
    if application is not None and application.status == ApplicationStatus.APPLIED:
        application.status = ApplicationStatus.INTERVIEWING
    audit.record(
        session, principal.id, "interview_planned", "interview", interview_id,
        role_type=role_type, questions=len(planned), kiosk_id=principal.claims.kiosk_id,
    )  # fmt: skip
    await session.commit()
    logger.info(
        "interview_started_successfully",
        interview_id=str(interview_id),
        role_type=role_type,
        planned_questions=len(planned),
        job_linked=application is not None,
    )
    return interview


async def get_for(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID
) -> Interview:
    """The interview, if the caller may see it: its candidate, proctors and admins."""
    interview = await interviews.get_with_questions(session, interview_id)
    if interview is None:
        raise NotFound(messages.interview_not_found(interview_id))
    if interview.candidate_id != principal.id and not principal.is_staff:
        raise Forbidden(messages.INTERVIEW_FORBIDDEN)
    return interview


async def list_for(
    session: AsyncSession,
    principal: Principal,
    status: InterviewStatus | None,
    kiosk_id: str | None,
    limit: int,
) -> list[Interview]:
    candidate_id = None if principal.is_staff else principal.id
    return await interviews.list_filtered(
        session, candidate_id, status.value if status else None, kiosk_id, limit
    )


def question_read(
    question: PlannedQuestion, total: int, bytes_per_second: int | None = None
) -> QuestionRead:
    def seconds(offset: int | None) -> float | None:
        if offset is None or not bytes_per_second:
            return None
        return offset / bytes_per_second

    return QuestionRead(
        index=question.index,
        total=total,
        text=question.text,
        difficulty=question.difficulty,
        skills=question.skills,
        answer_start_seconds=seconds(question.answer_start_offset),
        answer_end_seconds=seconds(question.answer_end_offset),
    )


def interview_read(interview: Interview) -> InterviewRead:
    return InterviewRead.model_validate(
        {
            **{
                c: getattr(interview, c)
                for c in InterviewRead.model_fields
                if c != "planned_question_count"
            },
            "planned_question_count": len(interview.questions),
        }
    )


def interview_detail(interview: Interview) -> InterviewDetail:
    total = len(interview.questions)
    rate = (interview.audio_sample_rate or 0) * (interview.audio_channels or 0) * 2
    return InterviewDetail(
        **interview_read(interview).model_dump(),
        questions=[question_read(q, total, rate) for q in interview.questions],
        preflight=PreflightRequest.model_validate(interview.preflight)
        if interview.preflight
        else None,
    )


async def record_preflight(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID, check: PreflightRequest
) -> Interview:
    """The candidate's kiosk records the seat's microphone check (before or during the
    interview; a repeated check replaces the earlier one)."""
    interview = await get_for(session, principal, interview_id)
    if interview.candidate_id != principal.id:
        raise Forbidden(messages.INTERVIEW_FORBIDDEN)
    if interview.status in (InterviewStatus.COMPLETED, InterviewStatus.ABANDONED):
        raise Conflict(f"Interview {interview_id} is {interview.status}")
    interview.preflight = check.model_dump()
    audit.record(session, principal.id, "preflight_recorded", "interview", interview.id,
                 fit=check.fit)  # fmt: skip
    await session.commit()
    return interview


async def recording_for(
    session: AsyncSession, principal: Principal, settings: Settings, interview_id: uuid.UUID
) -> tuple[Path, int, int, int]:
    """(path, bytes, sample rate, channels) of the recording the caller may hear."""
    interview = await get_for(session, principal, interview_id)
    path = recording_path(settings.data_dir, interview.id)
    if interview.audio_sample_rate is None or not path.exists():
        raise NotFound(f"Interview {interview_id} has no recording yet")
    channels = interview.audio_channels or 1
    size = path.stat().st_size
    return path, size - size % (2 * channels), interview.audio_sample_rate, channels


def planning_status(interview: Interview, ws_base_url: str) -> PlanningStatusResponse:
    count = len(interview.questions)
    return PlanningStatusResponse(
        interview_id=interview.id,
        status=interview.status,
        planned_question_count=count,
        message=f"Interview planned with {count} questions",
        ws_url=ws_url(ws_base_url, interview.id),
    )
