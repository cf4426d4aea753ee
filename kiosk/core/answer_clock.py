"""One question's clock at the seat: think, answer, keep or try again (issue 14). No Qt.

The kiosk keeps the same clock as the server (backend/app/services/streaming/timeline.py),
and the audio is that clock: every moment is an offset in the stream, every limit is
``start + seconds * bytes_per_second``. The countdown on screen is the distance from the
audio captured so far to the limit, so it stops while nothing is captured (a pause) and comes
back exactly after a dropped link or a restart. Each step is also a message the streamer
sends at its offset (``TakeAction``), and the server, seeing the same audio, agrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from kiosk.core.stream_messages import Question, Rules

# Warnings while answering, in seconds left: calm first, then clearly.
WARNINGS = (30, 10)


class Phase(StrEnum):
    THINKING = "thinking"
    ANSWERING = "answering"
    DECIDING = "deciding"  # takes remain: keep this answer or try again
    SAVING = "saving"  # kept: waiting for the server's next question


@dataclass(frozen=True)
class TakeAction:
    """A message the streamer owes the server: ``kind`` of take ``take`` at ``offset``."""

    kind: str  # answer_started, answer_done or keep_take
    index: int
    take: int
    offset: int


def clock_time(seconds: float) -> str:
    """``2:59``: whole seconds left, rounded up (0:00 only when the time is up)."""
    whole = max(0, math.ceil(seconds - 1e-9))
    return f"{whole // 60}:{whole % 60:02d}"


def rules_summary(questions: int, rules: Rules) -> str:
    """What the candidate reads before the first question, e.g.
    "5 questions · 30 s to think · up to 3 min per answer · 2 takes each"."""
    parts = [f"{questions} question{'s' if questions != 1 else ''}"]
    think = rules.think_seconds
    if think is None:
        parts.append("as long as you like to think")
    elif think == 0:
        parts.append("answers start at once")
    else:
        parts.append(f"{_duration(think)} to think")
    answer = rules.answer_seconds
    parts.append(
        "no limit per answer" if answer is None else f"up to {_duration(answer)} per answer"
    )
    parts.append("1 take each" if rules.takes == 1 else f"{rules.takes} takes each")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


class AnswerClock:
    """The clock of the question the server asked, built from where the server says it
    stands (a fresh question, or one resumed mid-answer after a crash)."""

    def __init__(self, question: Question, bytes_per_second: int) -> None:
        assert question.rules is not None, "a question without rules has no clock"
        self.index = question.index
        self.rules = question.rules
        self._bps = bytes_per_second
        self.phase = Phase(question.phase)
        done = question.takes_done
        self.take = question.take if question.take is not None else (done[-1].take if done else 0)
        think = self._bytes(self.rules.think_seconds)
        self.think_limit = None if think is None else question.asked_offset + think
        self.answer_limit = question.answer_limit_offset
        self._phase_start = done[-1].end_offset if done else question.asked_offset

    def _bytes(self, seconds: float | None) -> int | None:
        return None if seconds is None else round(seconds * self._bps / 2) * 2

    @property
    def takes_left(self) -> int:
        return self.rules.takes - self.take

    def deadline(self) -> int | None:
        """The offset at which the running limit ends something (None: nothing runs)."""
        if self.phase is Phase.THINKING:
            return self.think_limit
        if self.phase is Phase.ANSWERING:
            return self.answer_limit
        return None

    def remaining(self, captured: int) -> float | None:
        deadline = self.deadline()
        return None if deadline is None else max(0.0, (deadline - captured) / self._bps)

    def warning(self, captured: int) -> int | None:
        """30 or 10 while answering with that little time left, else None."""
        left = self.remaining(captured)
        if self.phase is not Phase.ANSWERING or left is None:
            return None
        hits = [mark for mark in WARNINGS if left <= mark]
        return min(hits) if hits else None

    def headline(self, captured: int) -> str:
        left = self.remaining(captured)
        if self.phase is Phase.THINKING:
            return "Think · no time limit" if left is None else f"Think · {clock_time(left)}"
        if self.phase is Phase.ANSWERING:
            if left is None:
                return "Answering · no time limit"
            return f"Answering · {clock_time(left)}"
        if self.phase is Phase.DECIDING:
            return "Keep this answer, or try again?"
        return "Saving your answer…"

    # --- steps: each returns the message the server is owed ----------------------------------

    def start(self, offset: int) -> TakeAction:
        """ "Start answering" or "Try again" at ``offset`` (or thinking ran out there)."""
        assert self.phase in (Phase.THINKING, Phase.DECIDING) and self.takes_left > 0
        at = max(offset, self._phase_start)
        if self.phase is Phase.THINKING and self.think_limit is not None:
            at = min(at, self.think_limit)
        self.take += 1
        self.phase = Phase.ANSWERING
        answer = self._bytes(self.rules.answer_seconds)
        self.answer_limit = None if answer is None else at + answer
        self._phase_start = at
        return TakeAction("answer_started", self.index, self.take, at)

    def end(self, offset: int) -> TakeAction:
        """The candidate ended the take at ``offset`` (or its limit passed there). With no
        take left it is kept as it ends: the server asks the next question."""
        assert self.phase is Phase.ANSWERING
        at = max(offset, self._phase_start)
        if self.answer_limit is not None:
            at = min(at, self.answer_limit)
        self._phase_start = at
        self.phase = Phase.DECIDING if self.takes_left > 0 else Phase.SAVING
        return TakeAction("answer_done", self.index, self.take, at)

    def keep(self, offset: int) -> TakeAction:
        assert self.phase is Phase.DECIDING
        self.phase = Phase.SAVING
        return TakeAction("keep_take", self.index, self.take, max(offset, self._phase_start))

    def reach(self, captured: int) -> list[TakeAction]:
        """The audio reached ``captured``: what the limits it passed ended, at their offsets."""
        actions = []
        while (deadline := self.deadline()) is not None and deadline <= captured:
            if self.phase is Phase.THINKING:
                actions.append(self.start(deadline))
            else:
                actions.append(self.end(deadline))
        return actions
