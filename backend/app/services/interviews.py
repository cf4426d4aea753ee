"""Planning and starting interviews (the story "Enhanced Interview Start Endpoint"), and
reading them back.

Each public function serves one route: it checks who may do what, raises a ``DomainError``
when a rule is not met, and answers with the route's response schema.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.config import Settings
from backend.app.core.errors import BadRequest, Conflict, Forbidden, NotFound
from backend.app.models import (
    AnswerTake,
    Application,
    Interview,
    JobPosting,
    PlannedQuestion,
    Resume,
)
from backend.app.models.enums import (
    ApplicationStatus,
    InterviewStatus,
    PostingStatus,
    TakeEnd,
    TakeStart,
)
from backend.app.repositories import applications, audit, interviews
from backend.app.schemas.interviews import (
    InterviewDetail,
    InterviewRead,
    InterviewStartRequest,
    InterviewStartResponse,
    PlanningStatusResponse,
    PreflightRequest,
    QuestionRead,
    TakeRead,
)
from backend.app.services import answer_audio, messages
from backend.app.services.auth import Principal, require_candidate, require_owner
from backend.app.services.catalog import Catalog
from backend.app.services.interview_rules import DEFAULT_RULES, QuestionRules, rules_for
from backend.app.services.prompts import JobContext
from backend.app.services.question_planner import BankQuestion
from backend.app.services.review.access import require_review_of
from backend.app.services.streaming.recording import recording_path, wav_stream

logger = structlog.get_logger(__name__)


def ws_url(ws_base_url: str, interview_id: uuid.UUID) -> str:
    return f"{ws_base_url}/ws/interviews/{interview_id}"


# --- planning: resolve the role and job, check the resume, build and save the interview ------


@dataclass(frozen=True)
class InterviewSubject:
    """What an interview is for: a role type, and the job application it was taken for."""

    role_type: str
    application: Application | None = None
    job: JobContext | None = None
    # The posting's rules, and its overrides by question index (defaults for practice).
    rules: QuestionRules = DEFAULT_RULES
    rule_overrides: tuple[dict[str, object], ...] = ()
    # Whether the kiosk reads the questions aloud (issue 15); practice interviews do.
    read_questions_aloud: bool = True


def job_context(posting: JobPosting) -> JobContext:
    return JobContext(
        title=posting.title,
        company=posting.company,
        role_category=posting.role_category,
        experience_level=posting.experience_level,
        description=posting.description,
        required_skills=tuple(posting.required_skills),
        tech_stack=tuple(posting.tech_stack),
    )


async def _application_to_interview_for(
    session: AsyncSession, principal: Principal, application_id: uuid.UUID
) -> Application:
    """The caller's own application, to an active posting."""
    application = await applications.get_for_new_interview(session, application_id)
    if application is None:
        raise NotFound(messages.application_not_found(application_id))
    require_owner(
        principal, application.candidate_id, messages.APPLICATION_FORBIDDEN, or_staff=False
    )
    if application.job_posting.status != PostingStatus.ACTIVE:
        raise BadRequest(messages.POSTING_NOT_ACTIVE)
    return application


async def resolve_subject(
    session: AsyncSession, principal: Principal, catalog: Catalog, request: InterviewStartRequest
) -> InterviewSubject:
    """The role from the application's posting (which wins), else from ``role_type``."""
    if request.application_id is not None:
        application = await _application_to_interview_for(
            session, principal, request.application_id
        )
        posting = application.job_posting
        role_type = catalog.roles.for_posting(posting.tech_stack, posting.role_category)
        rules = QuestionRules(posting.think_seconds, posting.answer_seconds, posting.takes)
        return InterviewSubject(
            role_type, application, job_context(posting), rules, tuple(posting.question_rules),
            read_questions_aloud=posting.read_questions_aloud,
        )  # fmt: skip
    if request.role_type is not None:
        return InterviewSubject(catalog.roles.resolve(request.role_type))
    raise BadRequest(messages.NEED_APPLICATION_OR_ROLE)


async def check_resume(
    session: AsyncSession, principal: Principal, resume_id: uuid.UUID | None
) -> None:
    """A resume named for the interview exists and is the caller's own."""
    if resume_id is None:
        return
    resume = await session.get(Resume, resume_id)
    if resume is None:
        raise NotFound(messages.resume_not_found(resume_id))
    require_owner(principal, resume.candidate_id, messages.RESUME_FORBIDDEN, or_staff=False)


def build_interview(
    principal: Principal,
    catalog: Catalog,
    settings: Settings,
    subject: InterviewSubject,
    resume_id: uuid.UUID | None,
) -> Interview:
    """A scheduled interview with its planned questions and the interviewer's prompt."""
    interview_id = uuid.uuid4()
    job = subject.job
    planned = catalog.questions.plan(
        subject.role_type,
        settings.planned_questions,
        seed=str(interview_id),
        required_skills=job.required_skills if job else (),
        tech_stack=job.tech_stack if job else (),
    )
    application = subject.application
    return Interview(
        id=interview_id,
        candidate_id=principal.id,
        resume_id=resume_id,
        job_posting_id=application.job_posting_id if application else None,
        application_id=application.id if application else None,
        role_type=subject.role_type,
        status=InterviewStatus.SCHEDULED,
        system_prompt=catalog.prompts.system_prompt(subject.role_type, job),
        kiosk_id=principal.claims.kiosk_id,
        proctor_id=principal.claims.proctor_id,
        # Granted with the session token by the proctor who launched it.
        accommodation=principal.claims.accommodation,
        accommodation_granted_by=principal.claims.proctor_id
        if principal.claims.accommodation
        else None,
        questions=[_planned(index, question, subject) for index, question in enumerate(planned)],
    )


def _planned(index: int, question: BankQuestion, subject: InterviewSubject) -> PlannedQuestion:
    rules = rules_for(subject.rules, subject.rule_overrides, index)
    return PlannedQuestion(
        index=index,
        bank_id=question.id,
        text=question.text,
        difficulty=question.difficulty,
        skills=list(question.skills),
        think_seconds=rules.think_seconds,
        answer_seconds=rules.answer_seconds,
        takes=rules.takes,
    )


async def save_planned(
    session: AsyncSession,
    principal: Principal,
    interview: Interview,
    application: Application | None,
) -> None:
    """Store the interview, audited; its application, if any, is now interviewing."""
    if application is not None:
        logger.info(
            "interview_start_with_job_context",
            interview_id=str(interview.id),
            job_posting_id=str(application.job_posting_id),
            role_type=interview.role_type,
        )
        if application.status == ApplicationStatus.APPLIED:
            application.status = ApplicationStatus.INTERVIEWING
    session.add(interview)
    audit.record(
        session, principal.id, "interview_planned", "interview", interview.id,
        role_type=interview.role_type, questions=len(interview.questions),
        kiosk_id=principal.claims.kiosk_id,
    )  # fmt: skip
    await session.commit()


async def plan_interview(
    session: AsyncSession,
    principal: Principal,
    catalog: Catalog,
    settings: Settings,
    request: InterviewStartRequest,
) -> tuple[Interview, InterviewSubject]:
    """Create an interview with its planned questions for the calling candidate; answer with
    it and what it was planned for.

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
    subject = await resolve_subject(session, principal, catalog, request)
    await check_resume(session, principal, request.resume_id)
    interview = build_interview(principal, catalog, settings, subject, request.resume_id)
    await save_planned(session, principal, interview, subject.application)
    logger.info(
        "interview_started_successfully",
        interview_id=str(interview.id),
        role_type=interview.role_type,
        planned_questions=len(interview.questions),
        job_linked=subject.application is not None,
    )
    return interview, subject


async def start(
    session: AsyncSession,
    principal: Principal,
    catalog: Catalog,
    settings: Settings,
    request: InterviewStartRequest,
    ws_base_url: str,
) -> InterviewStartResponse:
    """Plan an interview; answer with it, its first question, whether to read the questions
    aloud and where to stream its audio."""
    interview, subject = await plan_interview(session, principal, catalog, settings, request)
    return InterviewStartResponse(
        **_interview_fields(interview),
        first_question=question_read(interview.questions[0], len(interview.questions)),
        ws_url=ws_url(ws_base_url, interview.id),
        read_questions_aloud=subject.read_questions_aloud,
    )


async def plan(
    session: AsyncSession,
    principal: Principal,
    catalog: Catalog,
    settings: Settings,
    request: InterviewStartRequest,
    ws_base_url: str,
) -> PlanningStatusResponse:
    """Plan an interview; answer with its status and where to stream its audio."""
    interview, _subject = await plan_interview(session, principal, catalog, settings, request)
    return planning_status(interview, ws_base_url)


# --- reading interviews back ----------------------------------------------------------------


async def get_for(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID
) -> Interview:
    """The interview, if the caller may see it: its candidate, proctors and admins, and
    reviewers of its posting once it is completed."""
    interview = await interviews.get_with_questions(session, interview_id)
    if interview is None:
        raise NotFound(messages.interview_not_found(interview_id))
    if principal.is_reviewer:
        await require_review_of(session, principal, interview)
        return interview
    require_owner(principal, interview.candidate_id, messages.INTERVIEW_FORBIDDEN, or_staff=True)
    return interview


async def get_plan(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID, ws_base_url: str
) -> PlanningStatusResponse:
    return planning_status(await get_for(session, principal, interview_id), ws_base_url)


async def get_detail(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID
) -> InterviewDetail:
    return interview_detail(await get_for(session, principal, interview_id))


async def list_for(
    session: AsyncSession,
    principal: Principal,
    status: InterviewStatus | None,
    kiosk_id: str | None,
    limit: int,
) -> list[InterviewRead]:
    """The caller's interviews; proctors and admins see everyone's."""
    candidate_id = None if principal.is_staff else principal.id
    found = await interviews.list_filtered(
        session, candidate_id, status.value if status else None, kiosk_id, limit
    )
    return [interview_read(interview) for interview in found]


def question_read(
    question: PlannedQuestion, total: int, bytes_per_second: int | None = None
) -> QuestionRead:
    """A planned question with its rules and, once the stream has reached them, where it was
    asked and where its takes lie in the recording (seconds from the recording's start)."""

    def seconds(offset: int | None) -> float | None:
        if offset is None or not bytes_per_second:
            return None
        return offset / bytes_per_second

    # Takes are offsets in the recording, so none can exist before the stream's hello fixed
    # its format; a question just planned (the start answer) has not even loaded them.
    takes = (
        [_take_read(take, question.kept_take, bytes_per_second) for take in question.answer_takes]
        if bytes_per_second
        else []
    )
    return QuestionRead(
        index=question.index,
        total=total,
        text=question.text,
        difficulty=question.difficulty,
        skills=question.skills,
        think_seconds=question.think_seconds,
        answer_seconds=question.answer_seconds,
        takes=question.takes,
        asked_seconds=seconds(question.asked_offset),
        answer_start_seconds=seconds(question.answer_start_offset),
        answer_end_seconds=seconds(question.answer_end_offset),
        kept_take=question.kept_take,
        answer_takes=takes,
    )


def _take_read(take: AnswerTake, kept_take: int | None, bytes_per_second: int) -> TakeRead:
    end = take.end_offset
    return TakeRead(
        take=take.take,
        start_seconds=take.start_offset / bytes_per_second,
        end_seconds=None if end is None else end / bytes_per_second,
        seconds=None if end is None else (end - take.start_offset) / bytes_per_second,
        started_by=TakeStart(take.started_by),
        end_reason=None if take.end_reason is None else TakeEnd(take.end_reason),
        kept=take.take == kept_take,
    )


def _interview_fields(interview: Interview) -> dict[str, Any]:
    """The interview's ``InterviewRead`` fields, for it and the responses that extend it."""
    return {
        **{
            name: getattr(interview, name)
            for name in InterviewRead.model_fields
            if name != "planned_question_count"
        },
        "planned_question_count": len(interview.questions),
    }


def interview_read(interview: Interview) -> InterviewRead:
    return InterviewRead.model_validate(_interview_fields(interview))


def interview_detail(interview: Interview) -> InterviewDetail:
    total = len(interview.questions)
    rate = (interview.audio_sample_rate or 0) * (interview.audio_channels or 0) * 2
    return InterviewDetail(
        **_interview_fields(interview),
        questions=[question_read(q, total, rate) for q in interview.questions],
        preflight=PreflightRequest.model_validate(interview.preflight)
        if interview.preflight
        else None,
    )


def planning_status(interview: Interview, ws_base_url: str) -> PlanningStatusResponse:
    count = len(interview.questions)
    return PlanningStatusResponse(
        interview_id=interview.id,
        status=interview.status,
        planned_question_count=count,
        message=f"Interview planned with {count} questions",
        ws_url=ws_url(ws_base_url, interview.id),
    )


# --- the seat's check and the recording -----------------------------------------------------


async def record_preflight(
    session: AsyncSession, principal: Principal, interview_id: uuid.UUID, check: PreflightRequest
) -> InterviewDetail:
    """The candidate's kiosk records the seat's microphone check (before or during the
    interview; a repeated check replaces the earlier one)."""
    interview = await get_for(session, principal, interview_id)
    require_owner(principal, interview.candidate_id, messages.INTERVIEW_FORBIDDEN, or_staff=False)
    if interview.status in (InterviewStatus.COMPLETED, InterviewStatus.ABANDONED):
        raise Conflict(f"Interview {interview_id} is {interview.status}")
    interview.preflight = check.model_dump()
    audit.record(session, principal.id, "preflight_recorded", "interview", interview.id,
                 fit=check.fit)  # fmt: skip
    await session.commit()
    return interview_detail(interview)


@dataclass(frozen=True)
class WavDownload:
    """A recording as a WAV file: its bytes, read as they are sent, and their number."""

    chunks: AsyncIterator[bytes]
    content_length: int


async def recording_for(
    session: AsyncSession, principal: Principal, settings: Settings, interview_id: uuid.UUID
) -> WavDownload:
    """The whole recording so far, if the caller may hear it (whole samples only). Not for
    reviewers: it holds the takes the candidate chose not to keep, and their thinking."""
    if principal.is_reviewer:
        raise Forbidden(messages.RECORDING_NOT_FOR_REVIEWERS)
    interview = await get_for(session, principal, interview_id)
    path = recording_path(settings.data_dir, interview.id)
    if interview.audio_sample_rate is None or not path.exists():
        raise NotFound(no_recording(interview_id))
    channels = interview.audio_channels or 1
    size = path.stat().st_size
    size -= size % (2 * channels)
    return WavDownload(  # the WAV header is 44 bytes
        wav_stream(path, size, interview.audio_sample_rate, channels), content_length=44 + size
    )


@dataclass(frozen=True)
class AnswerWav:
    """A kept answer as a WAV file to send: all of it (200) or the range asked for (206)."""

    chunks: AsyncIterator[bytes]
    status_code: int
    headers: dict[str, str]


def no_such_question(interview_id: object, index: int) -> str:
    return f"Interview {interview_id} has no question {index}"


def no_kept_answer(interview_id: object, index: int) -> str:
    return f"Question {index} of interview {interview_id} has no kept answer recorded yet"


def no_recording(interview_id: object) -> str:
    return f"Interview {interview_id} has no recording yet"


async def answer_for(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    interview_id: uuid.UUID,
    index: int,
    range_header: str | None,
) -> AnswerWav:
    """The kept take of question ``index`` as a WAV file, or the part ``range_header`` asks
    for, if the caller may hear it (its candidate, proctors and admins).

    Raises:
        NotFound: no such interview or question, no kept answer yet, or no recording of it.
        RangeNotSatisfiable: the range lies outside the WAV.
    """
    interview = await get_for(session, principal, interview_id)
    return answer_of(interview, settings, index, range_header)


def answer_of(
    interview: Interview, settings: Settings, index: int, range_header: str | None
) -> AnswerWav:
    """``answer_for`` once the caller is known to be allowed (a share link, say)."""
    interview_id = interview.id
    question = next((q for q in interview.questions if q.index == index), None)
    if question is None:
        raise NotFound(no_such_question(interview_id, index))
    # The span, not kept_take: an interview streamed before takes existed has the one.
    start, end = question.answer_start_offset, question.answer_end_offset
    if start is None or end is None:
        raise NotFound(no_kept_answer(interview_id, index))
    path = recording_path(settings.data_dir, interview.id)
    if interview.audio_sample_rate is None or not path.exists():
        raise NotFound(no_recording(interview_id))
    channels = interview.audio_channels or 1
    start, end = answer_audio.kept_span(start, end, path.stat().st_size, channels)
    if end == start:
        raise NotFound(no_kept_answer(interview_id, index))
    part = answer_audio.wav_part(start, end, interview.audio_sample_rate, channels, range_header)
    return AnswerWav(answer_audio.read_part(path, part), part.status_code, part.headers)
