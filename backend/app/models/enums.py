"""Closed sets of values, stored as short strings (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CANDIDATE = "candidate"
    PROCTOR = "proctor"
    ADMIN = "admin"
    # The hiring team: listens to and rates completed interviews of the postings assigned to them.
    REVIEWER = "reviewer"


class PostingStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class ApplicationStatus(StrEnum):
    APPLIED = "applied"
    INTERVIEWING = "interviewing"
    INTERVIEWED = "interviewed"
    WITHDRAWN = "withdrawn"


class InterviewStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class Difficulty(StrEnum):
    WARMUP = "warmup"
    STANDARD = "standard"
    ADVANCED = "advanced"


class Accommodation(StrEnum):
    """Extra time a proctor grants at launch, applied to think and answer limits."""

    TIME_1_25 = "x1.25"
    TIME_1_5 = "x1.5"
    TIME_2 = "x2"
    UNLIMITED = "unlimited"

    @property
    def multiplier(self) -> float | None:
        """The factor on every limit; None: no limit at all."""
        return None if self is Accommodation.UNLIMITED else float(self.value[1:])


class TakeStart(StrEnum):
    CANDIDATE = "candidate"  # "Start answering" or "Try again"
    LIMIT = "limit"  # thinking time ran out


class TakeEnd(StrEnum):
    CANDIDATE = "candidate"
    LIMIT = "limit"


class IncidentCategory(StrEnum):
    """What a proctor writes down about a seat (the room console's incident report)."""

    NOISE = "noise"
    TECHNICAL = "technical"
    NETWORK = "network"
    BEHAVIOUR = "behaviour"
    ILLNESS = "illness"
    LATE_ARRIVAL = "late_arrival"
    POWER = "power"
    OTHER = "other"


class TranscriptState(StrEnum):
    """Where one kept answer's transcription job stands."""

    QUEUED = "queued"  # waiting for a worker (or for its retry time)
    TRANSCRIBING = "transcribing"  # a worker holds it (its lease says until when)
    DONE = "done"
    FAILED = "failed"  # every attempt failed; ``error`` says why


class Recommendation(StrEnum):
    """A reviewer's overall call on a candidate's interview."""

    ADVANCE = "advance"
    HOLD = "hold"
    REJECT = "reject"


class ReviewStatus(StrEnum):
    """Where an interview stands with its reviewers (derived, never stored)."""

    NEW = "new"  # nobody has started a review
    IN_REVIEW = "in_review"  # started, but not every assigned reviewer has submitted
    REVIEWED = "reviewed"  # every assigned reviewer (or, with none, someone) has submitted
