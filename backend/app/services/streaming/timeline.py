"""The interview's timeline: think, answer, takes and keeps, with the audio as the clock.

Every moment is a byte offset in the recording, and every limit is one too
(``start + seconds * bytes_per_second``, stretched by the accommodation). So the record
survives a dropped link, a kiosk crash and a backend restart exactly, and time paused
(nothing is captured) does not count. No I/O: ``InterviewStream`` loads the interview,
calls one method, commits and sends the events it returns (docs/protocol.md, section 6).

Per question the phases are: thinking (from ``asked_offset``) -> answering take k ->
deciding (takes remain: keep it or try again) -> kept, and the next question is asked at the
offset of the keep. With one take, or the last, the take is kept as it ends.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from backend.app.models import AnswerTake, Interview, PlannedQuestion
from backend.app.models.enums import TakeEnd, TakeStart
from backend.app.services.interview_rules import limit_bytes

Event = dict[str, Any]
TAKE_EVENTS = frozenset({"answer_started", "answer_ended"})


class Phase(StrEnum):
    THINKING = "thinking"
    ANSWERING = "answering"
    DECIDING = "deciding"


class TakeRefused(Exception):
    """A take message names a take that does not exist or cannot happen now. The server
    sends ``error`` with ``code`` and keeps the connection: nothing was changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def phase(question: PlannedQuestion) -> Phase:
    takes = question.answer_takes
    if not takes:
        return Phase.THINKING
    if takes[-1].end_offset is None:
        return Phase.ANSWERING
    return Phase.DECIDING


class Timeline:
    """One loaded interview (its questions with their takes) and its audio format."""

    def __init__(self, interview: Interview, bytes_per_second: int, limits: bool = True) -> None:
        """``limits``: whether limits end anything (only for a client that keeps the clock;
        for any other the timeline records what it is told)."""
        self.interview = interview
        self._bps = bytes_per_second
        self._limits = limits

    # --- reading ------------------------------------------------------------------------------

    @property
    def current(self) -> PlannedQuestion | None:
        index = self.interview.current_question_index
        questions = self.interview.questions
        return questions[index] if index < len(questions) else None

    def _think_bytes(self, question: PlannedQuestion) -> int | None:
        return limit_bytes(question.think_seconds, self.interview.accommodation, self._bps)

    def _answer_bytes(self, question: PlannedQuestion) -> int | None:
        return limit_bytes(question.answer_seconds, self.interview.accommodation, self._bps)

    def _seconds(self, size: int | None) -> float | None:
        return None if size is None else size / self._bps

    def think_limit(self, question: PlannedQuestion) -> int | None:
        think = self._think_bytes(question)
        return None if think is None or not self._limits else _asked(question) + think

    def answer_limit(self, take: AnswerTake, question: PlannedQuestion) -> int | None:
        answer = self._answer_bytes(question)
        return None if answer is None or not self._limits else take.start_offset + answer

    def deadline(self) -> int | None:
        """The next offset at which a limit ends something by itself (None: no limit runs)."""
        question = self.current
        if question is None:
            return None
        now = phase(question)
        if now is Phase.THINKING:
            return self.think_limit(question)
        if now is Phase.ANSWERING:
            return self.answer_limit(question.answer_takes[-1], question)
        return None  # deciding waits for the candidate, however long

    def question_message(self) -> Event | None:
        """The current question with its rules and where it stands (``ready``, ``question``)."""
        question = self.current
        if question is None:
            return None
        takes = question.answer_takes
        now = phase(question)
        running = takes[-1] if now is Phase.ANSWERING else None
        return {
            "index": question.index,
            "total": len(self.interview.questions),
            "text": question.text,
            "rules": {
                "think_seconds": self._seconds(self._think_bytes(question)),
                "answer_seconds": self._seconds(self._answer_bytes(question)),
                "takes": question.takes,
                "accommodation": self.interview.accommodation,
            },
            "phase": now.value,
            "asked_offset": _asked(question),
            "think_limit_offset": self.think_limit(question) if now is Phase.THINKING else None,
            "take": running.take if running else None,
            "answer_limit_offset": self.answer_limit(running, question) if running else None,
            "takes_done": [
                {
                    "take": t.take,
                    "start_offset": t.start_offset,
                    "end_offset": t.end_offset,
                    "reason": t.end_reason,
                }
                for t in takes
                if t.end_offset is not None
            ],
        }

    # --- the audio moves the clock ------------------------------------------------------------

    def reach(self, offset: int) -> list[Event]:
        """The audio now extends to ``offset``: end whatever limit it passed, in order."""
        events: list[Event] = []
        while (deadline := self.deadline()) is not None and deadline <= offset:
            question = self.current
            assert question is not None
            if phase(question) is Phase.THINKING:
                events += self._start(question, deadline, TakeStart.LIMIT)
            else:
                events += self._end(question, deadline, TakeEnd.LIMIT)
        return events

    # --- the candidate's messages -------------------------------------------------------------

    def start_take(self, index: int, take: int, offset: int) -> list[Event]:
        """``answer_started``: "Start answering" (take 1) or "Try again" (take k+1)."""
        question = self._addressed(index)
        if question is None or _has_take(question, take):
            return self._repeat()  # already done (or a stale question): nothing changes
        now = phase(question)
        expected = len(question.answer_takes) + 1
        if take != expected or take > question.takes or now is Phase.ANSWERING:
            raise TakeRefused(
                "bad_take",
                f"question {index} cannot start take {take} now "
                f"({now.value}, {len(question.answer_takes)} of {question.takes} takes used)",
            )
        return self._start(question, max(offset, self._phase_start(question)), TakeStart.CANDIDATE)

    def end_take(self, index: int, take: int, offset: int) -> list[Event]:
        """``answer_done`` with a take: the candidate ended that take."""
        question = self._addressed(index)
        if question is None:
            return self._repeat()
        takes = question.answer_takes
        if not _has_take(question, take):
            raise TakeRefused("bad_take", f"question {index} has no take {take}")
        if takes[take - 1].end_offset is not None:
            return self._repeat()
        return self._end(question, max(offset, takes[-1].start_offset), TakeEnd.CANDIDATE)

    def keep_take(self, index: int, take: int, offset: int) -> list[Event]:
        """``keep_take``: this take is the answer; the next question is asked at ``offset``."""
        question = self._addressed(index)
        if question is None:
            return self._repeat()
        if not _has_take(question, take):
            raise TakeRefused("bad_take", f"question {index} has no take {take} to keep")
        if phase(question) is Phase.ANSWERING:  # keeping any take ends none: refused
            running = question.answer_takes[-1].take
            raise TakeRefused("bad_take", f"take {running} of question {index} is still running")
        return self._keep(question, take, max(offset, self._phase_start(question)))

    def legacy_done(self, index: int | None, offset: int) -> list[Event]:
        """``answer_done`` without a take (protocol v1 and v1.1 clients): the current answer
        ends and is kept. A client that never said ``answer_started`` answered from the
        moment the question was asked."""
        if index is not None and index != self.interview.current_question_index:
            return self._repeat()  # v1.1: any other index is already done
        question = self.current
        if question is None:
            return self._repeat()
        # Said the v1 way, answered the v1 way: the next question, no take events.
        return [e for e in self._finish(question, offset) if e["type"] not in TAKE_EVENTS]

    def finish(self, offset: int) -> None:
        """``end``: whatever answer is under way ends here and is kept."""
        if (question := self.current) is not None:
            self._finish(question, offset)

    # --- the steps ----------------------------------------------------------------------------

    def _finish(self, question: PlannedQuestion, offset: int) -> list[Event]:
        events: list[Event] = []
        now = phase(question)
        if now is Phase.THINKING:
            question.answer_takes.append(AnswerTake(
                take=1, start_offset=_asked(question), started_by=TakeStart.CANDIDATE
            ))  # fmt: skip
            now = Phase.ANSWERING
        if now is Phase.ANSWERING:
            events += self._end(question, offset, TakeEnd.CANDIDATE, keep_last=False)
        if self.current is question:
            events += self._keep(question, len(question.answer_takes), offset)
        return events

    def _addressed(self, index: int) -> PlannedQuestion | None:
        """The question a message names, if it is the current one; None for an earlier one
        (a repeat after a drop). A later one was never asked: refused."""
        current = self.interview.current_question_index
        if index < current:
            return None
        if index > current or index >= len(self.interview.questions):
            raise TakeRefused("bad_take", f"question {index} has not been asked")
        return self.interview.questions[index]

    def _phase_start(self, question: PlannedQuestion) -> int:
        takes = question.answer_takes
        if takes and takes[-1].end_offset is not None:
            return takes[-1].end_offset
        return _asked(question)

    def _start(self, question: PlannedQuestion, at: int, by: TakeStart) -> list[Event]:
        take = AnswerTake(take=len(question.answer_takes) + 1, start_offset=at, started_by=by)
        question.answer_takes.append(take)
        return [{
            "type": "answer_started", "index": question.index, "take": take.take,
            "offset": at, "limit_offset": self.answer_limit(take, question), "reason": by.value,
        }]  # fmt: skip

    def _end(
        self, question: PlannedQuestion, at: int, why: TakeEnd, keep_last: bool = True
    ) -> list[Event]:
        take = question.answer_takes[-1]
        limit = self.answer_limit(take, question)
        if limit is not None and at >= limit:
            at, why = limit, TakeEnd.LIMIT
        take.end_offset, take.end_reason = at, why.value
        left = question.takes - take.take
        events: list[Event] = [{
            "type": "answer_ended", "index": question.index, "take": take.take,
            "offset": at, "reason": why.value, "takes_left": left,
        }]  # fmt: skip
        if left <= 0 and keep_last:  # no take left to try: this one is the answer
            events += self._keep(question, take.take, at)
        return events

    def _keep(self, question: PlannedQuestion, take_number: int, at: int) -> list[Event]:
        kept = question.answer_takes[take_number - 1]
        question.kept_take = take_number
        question.answer_start_offset = kept.start_offset
        question.answer_end_offset = kept.end_offset
        self.interview.current_question_index = question.index + 1
        following = self.current
        if following is None:
            return [{"type": "questions_complete"}]
        following.asked_offset = at
        message = self.question_message()
        assert message is not None
        return [{"type": "question", **message}]

    def _repeat(self) -> list[Event]:
        message = self.question_message()
        return [{"type": "questions_complete"}] if message is None else [
            {"type": "question", **message}
        ]  # fmt: skip


def _asked(question: PlannedQuestion) -> int:
    # Set whenever a question is asked; absent only for an interview begun before rules
    # existed whose question 0 was never reached: it was asked at the start.
    return question.asked_offset or 0


def _has_take(question: PlannedQuestion, take: int) -> bool:
    return 1 <= take <= len(question.answer_takes)
