from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, NotRequired

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, Strict, model_validator
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here before 3.12

from backend.app.models.enums import ApplicationStatus, InterviewStatus, PostingStatus
from backend.app.models.jobs import tech_stack_list
from backend.app.schemas.base import RequestModel, ResponseModel
from backend.app.services.interview_rules import (
    DEFAULT_ANSWER_SECONDS,
    DEFAULT_TAKES,
    DEFAULT_THINK_SECONDS,
    MAX_ANSWER_SECONDS,
    MAX_TAKES,
    MAX_THINK_SECONDS,
    MIN_ANSWER_SECONDS,
)

Tag = Annotated[str, Field(min_length=1, max_length=50)]
Tags = Annotated[list[Tag], Field(max_length=30)]


def _one_or_many(value: object) -> object:
    """A posting names one technology as a string, or none as null: both become lists. Any
    other value is left for validation to accept or refuse."""
    if value is None or isinstance(value, str):
        return tech_stack_list(value)
    return value


# Accepted as "typescript", ["React", "TypeScript"] or null; always a list once read.
TechStack = Annotated[
    Tags,
    BeforeValidator(_one_or_many, json_schema_input_type=Tag | Tags | None),
    Field(
        description="One technology, a list of them, or null for none; always answered as a list",
        examples=["typescript", ["React", "TypeScript"], None],
    ),
]


# Interview rules (issue 14). Strict: in lax mode `true` would be read as 1 take and "30" as 30
# seconds, accepting what the documented schema refuses.
ThinkSeconds = Annotated[int, Strict(), Field(ge=0, le=MAX_THINK_SECONDS)]
AnswerSeconds = Annotated[int, Strict(), Field(ge=MIN_ANSWER_SECONDS, le=MAX_ANSWER_SECONDS)]
Takes = Annotated[int, Strict(), Field(ge=1, le=MAX_TAKES)]
# Enough for any plan: an interview asks a handful of questions.
MAX_QUESTION_RULES = 50

THINK_DOC = "Seconds to think before answering: 0 answers at once, null is unlimited"
ANSWER_DOC = "Seconds an answer may run; at the limit it ends by itself"
TAKES_DOC = "Takes per question; the candidate keeps one, and reviewers get that one"
# Object examples lose their nulls in FastAPI's document, so null is shown here.
THINK_EXAMPLES = [30, 0, None]

# Strict: in lax mode "yes", "on", "true" and 1 would all be read as true.
ReadAloud = Annotated[bool, Strict()]
READ_ALOUD_DOC = (
    "Whether the kiosk reads each question aloud as well as showing it; false shows the text only"
)


class QuestionRuleOverride(RequestModel):
    """One planned question's rules where they differ from the posting's. Only the keys sent
    are kept: an absent key inherits the posting's value, ``think_seconds: null`` is unlimited."""

    model_config = ConfigDict(
        json_schema_extra={
            # Nulls are dropped from object examples in the document; see think_seconds.
            "examples": [
                {"index": 0, "think_seconds": 0, "takes": 3},
                {"index": 4, "answer_seconds": 300},
            ]
        }
    )

    index: int = Field(
        strict=True,
        ge=0,
        lt=MAX_QUESTION_RULES,
        description="The planned question's index, 0 for the first",
    )
    # None when absent too: model_fields_set tells the two apart, and only sent keys are stored.
    think_seconds: ThinkSeconds | None = Field(
        default=None,
        description=f"{THINK_DOC}; absent keeps the posting's",
        examples=THINK_EXAMPLES,
    )
    answer_seconds: AnswerSeconds | None = Field(
        default=None, description=f"{ANSWER_DOC}; absent keeps the posting's", examples=[300]
    )
    takes: Takes | None = Field(
        default=None, description=f"{TAKES_DOC}; absent keeps the posting's", examples=[3]
    )

    @model_validator(mode="after")
    def _no_null_limits(self) -> QuestionRuleOverride:
        # Only thinking can be unlimited; an override leaves out what it does not change.
        nulled = sorted(
            name
            for name in self.model_fields_set & {"answer_seconds", "takes"}
            if getattr(self, name) is None
        )
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null (omit it to keep the posting's)")
        return self


def _one_override_per_question(
    overrides: list[QuestionRuleOverride],
) -> list[QuestionRuleOverride]:
    indexes = [override.index for override in overrides]
    repeated = sorted({index for index in indexes if indexes.count(index) > 1})
    if repeated:
        raise ValueError(f"one override per question index; repeated: {repeated}")
    return overrides


QuestionRuleOverrides = Annotated[
    list[QuestionRuleOverride],
    Field(
        max_length=MAX_QUESTION_RULES,
        description="Rules for single planned questions, by index; each names only what it changes",
    ),
    AfterValidator(_one_override_per_question),
]


class QuestionRuleSettings(TypedDict):
    """A stored override: the keys it names, no others (absent inherits, null is unlimited)."""

    index: int
    think_seconds: NotRequired[int | None]
    answer_seconds: NotRequired[int]
    takes: NotRequired[int]


DEFAULT_RETENTION_DAYS = 180
RETENTION_DOC = (
    "Days a completed interview's recording, questions read aloud and transcripts are kept "
    "after the decision (the last review submitted; the completion if never reviewed), then "
    "deleted; the interview's record and its reviews stay"
)
RetentionDays = Annotated[int, Field(ge=1, le=3650)]
PRIVATE_DOC = "Planned question indexes a share link leaves out (reviewers still see them)"
RUBRICS_DOC = (
    "What a reviewer rates for each planned question, by index (an empty or missing one: "
    "the general 1-5 scale)"
)


def _unique_indexes(indexes: list[int]) -> list[int]:
    return sorted(set(indexes))


PrivateQuestions = Annotated[
    list[Annotated[int, Field(ge=0, le=99)]],
    Field(max_length=100),
    AfterValidator(_unique_indexes),
]
QuestionRubrics = Annotated[list[Annotated[str, Field(max_length=2000)]], Field(max_length=100)]


class JobPostingCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"title": "Frontend Engineer", "company": "Fabrikam", "tech_stack": "typescript"},
                {
                    "title": "Platform Engineer",
                    "company": "Northwind Cloud",
                    "role_category": "DevOps",
                    "tech_stack": ["Kubernetes", "Terraform"],
                    "required_skills": ["kubernetes"],
                },
                # Without a tech stack (or with null: FastAPI drops nulls from examples).
                {"title": "Account Executive", "company": "Tailspin", "role_category": "Sales"},
                {
                    "title": "Support Engineer",
                    "company": "Contoso",
                    "think_seconds": 5,
                    "answer_seconds": 60,
                    "takes": 2,
                    "question_rules": [{"index": 0, "think_seconds": 0, "takes": 3}],
                    "read_questions_aloud": False,
                },
            ]
        }
    )

    title: str = Field(min_length=1, max_length=200)
    company: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    role_category: str | None = Field(default=None, max_length=100)
    tech_stack: TechStack = Field(default_factory=list)
    required_skills: Tags = Field(default_factory=list)
    experience_level: str | None = Field(default=None, max_length=50)
    status: PostingStatus = PostingStatus.ACTIVE
    think_seconds: ThinkSeconds | None = Field(
        default=DEFAULT_THINK_SECONDS, description=THINK_DOC, examples=THINK_EXAMPLES
    )
    answer_seconds: AnswerSeconds = Field(
        default=DEFAULT_ANSWER_SECONDS, description=ANSWER_DOC, examples=[180, 60]
    )
    takes: Takes = Field(default=DEFAULT_TAKES, description=TAKES_DOC, examples=[1, 2])
    question_rules: QuestionRuleOverrides = Field(default_factory=list)
    read_questions_aloud: ReadAloud = Field(
        default=True, description=READ_ALOUD_DOC, examples=[True, False]
    )
    retention_days: RetentionDays = Field(default=DEFAULT_RETENTION_DAYS, description=RETENTION_DOC)
    private_questions: PrivateQuestions = Field(default_factory=list, description=PRIVATE_DOC)
    question_rubrics: QuestionRubrics = Field(default_factory=list, description=RUBRICS_DOC)


class JobPostingUpdate(RequestModel):
    """Only the fields sent change. ``tech_stack: null`` clears the stack, ``think_seconds: null``
    makes thinking unlimited, and ``question_rules`` replaces all the overrides."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"tech_stack": "go"},
                {"tech_stack": ["Go", "Kubernetes"]},
                {"status": "closed"},
                {"answer_seconds": 120, "takes": 2},
                {"question_rules": [{"index": 2, "answer_seconds": 300}]},
                {"read_questions_aloud": False},
            ]
        }
    )

    title: str | None = Field(default=None, min_length=1, max_length=200)
    company: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    role_category: str | None = Field(default=None, max_length=100)
    # Omitted: unchanged (the service applies only the fields sent); null: cleared.
    tech_stack: TechStack = Field(default_factory=list)
    required_skills: Tags | None = None
    experience_level: str | None = Field(default=None, max_length=50)
    status: PostingStatus | None = None
    # Omitted: unchanged (the service applies only the fields sent); null: unlimited thinking.
    think_seconds: ThinkSeconds | None = Field(
        default=None, description=f"{THINK_DOC}; omitted is unchanged", examples=THINK_EXAMPLES
    )
    answer_seconds: AnswerSeconds | None = Field(
        default=None, description=ANSWER_DOC, examples=[180, 60]
    )
    takes: Takes | None = Field(default=None, description=TAKES_DOC, examples=[1, 2])
    question_rules: QuestionRuleOverrides | None = Field(
        default=None,
        description="Replaces every override ([] removes them); each names only what it changes",
    )
    read_questions_aloud: ReadAloud | None = Field(
        default=None, description=f"{READ_ALOUD_DOC}; omitted is unchanged", examples=[False]
    )
    retention_days: RetentionDays | None = Field(default=None, description=RETENTION_DOC)
    private_questions: PrivateQuestions | None = Field(default=None, description=PRIVATE_DOC)
    question_rubrics: QuestionRubrics | None = Field(default=None, description=RUBRICS_DOC)

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> JobPostingUpdate:
        # Omitting a field keeps it; null may only clear what a posting can be without.
        nulled = sorted(
            name for name in self.model_fields_set & _NOT_NULLABLE if getattr(self, name) is None
        )
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null (omit a field to keep it)")
        return self


_NOT_NULLABLE = frozenset(
    {
        "title", "company", "description", "required_skills", "status",
        "answer_seconds", "takes", "question_rules", "read_questions_aloud", "retention_days",
        "private_questions", "question_rubrics",
    }
)  # fmt: skip


class JobPostingRead(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "title": "Frontend Engineer",
                    "company": "Fabrikam",
                    "description": "",
                    "role_category": None,
                    "tech_stack": ["typescript"],
                    "required_skills": [],
                    "experience_level": None,
                    "status": "active",
                    "think_seconds": 30,
                    "answer_seconds": 180,
                    "takes": 2,
                    "question_rules": [{"index": 0, "think_seconds": 0, "takes": 3}],
                    "read_questions_aloud": True,
                    "created_at": "2025-01-06T09:30:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    title: str
    company: str
    description: str
    role_category: str | None
    tech_stack: list[str] = Field(description="The posting's technologies, possibly none")
    required_skills: list[str]
    experience_level: str | None
    status: PostingStatus
    think_seconds: int | None = Field(description=THINK_DOC)
    answer_seconds: int = Field(description=ANSWER_DOC)
    takes: int = Field(description=TAKES_DOC)
    question_rules: list[QuestionRuleSettings] = Field(
        description="Overrides by planned question index, each with only the keys it changes"
    )
    read_questions_aloud: bool = Field(description=READ_ALOUD_DOC)
    created_at: datetime


class JobPostingAdminRead(JobPostingRead):
    """What admins get back when they write a posting: also the hiring team's settings, which
    candidates never see (the rubrics are how their answers are scored)."""

    retention_days: int = Field(description=RETENTION_DOC)
    private_questions: list[int] = Field(description=PRIVATE_DOC)
    question_rubrics: list[str] = Field(description=RUBRICS_DOC)


class ApplicationCreate(RequestModel):
    job_posting_id: uuid.UUID


class ApplicationRead(ResponseModel):
    id: uuid.UUID
    candidate_id: uuid.UUID
    status: ApplicationStatus
    created_at: datetime
    job_posting_id: uuid.UUID
    job_title: str
    company: str
    tech_stack: list[str]
    role_category: str | None
    posting_status: PostingStatus
    interview_id: uuid.UUID | None
    interview_status: InterviewStatus | None
