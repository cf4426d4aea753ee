"""What a screen reader is told as the interview moves on (issue 15). No Qt.

A sighted candidate sees the question change, the countdown run and the connection drop; a
candidate using a screen reader hears only what is announced. Each moment of the interview
screen is compared with the last one, and what changed becomes a sentence: a new question
(read in full), a phase that starts, whole minutes and the last 30 and 10 seconds, the
connection lost and back. Urgent ones interrupt ("assertive"); the rest wait their turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Seconds left that are said as they pass, besides each whole minute.
LAST_SECONDS = (30, 10)


@dataclass(frozen=True)
class Moment:
    """The interview screen as it is now (None: not showing a question)."""

    question_index: int | None = None
    question_total: int = 0
    question_text: str = ""  # "": the question is read aloud, not announced
    phase: str | None = None  # thinking, answering, deciding, saving; None without rules
    seconds_left: float | None = None  # of the phase under way, if it has a limit
    stream: str | None = None  # the streamer's state: streaming, reconnecting, failed…
    takes_left: int = 0


@dataclass(frozen=True)
class Announcement:
    text: str
    assertive: bool = False  # interrupts what the screen reader is saying


def _duration(seconds: float) -> str:
    whole = max(0, math.ceil(seconds - 1e-9))
    minutes, rest = divmod(whole, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if rest or not minutes:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


class Announcer:
    def __init__(self) -> None:
        self._last = Moment()
        self._lost = False  # "Connection lost" was said, and "back" not yet

    def reset(self) -> None:
        """The interview screen was left: the next one starts afresh."""
        self._last = Moment()
        self._lost = False

    def changes(self, now: Moment) -> list[Announcement]:
        last, self._last = self._last, now
        said: list[Announcement] = []
        said += self._connection(last.stream, now.stream)
        if now.question_index is None:
            return said
        if now.question_index != last.question_index:
            said.append(Announcement(
                f"Question {now.question_index + 1} of {now.question_total}. "
                f"{now.question_text}".rstrip()
            ))  # fmt: skip
            said += _phase_started(now)
            return said
        if now.phase != last.phase:
            said += _phase_started(now)
        elif now.seconds_left is not None and last.seconds_left is not None:
            said += _time_passing(last.seconds_left, now.seconds_left, now.phase)
        return said

    def _connection(self, before: str | None, after: str | None) -> list[Announcement]:
        if before == after or after is None:
            return []
        if after == "failed":
            return [Announcement("The interview cannot continue at this seat. Call the "
                                 "proctor.", assertive=True)]  # fmt: skip
        if after in ("reconnecting", "connecting") and before == "streaming":
            self._lost = True
            return [Announcement("Connection lost. Keep going: your answers are kept at "
                                 "this seat.", assertive=True)]  # fmt: skip
        if after == "streaming" and self._lost:
            self._lost = False
            return [Announcement("Connection back.")]
        return []


def _phase_started(now: Moment) -> list[Announcement]:
    left = now.seconds_left
    if now.phase == "thinking":
        text = "Time to think" + (f": {_duration(left)}." if left is not None else ".")
        return [Announcement(text + " Start answering when you are ready.")]
    if now.phase == "answering":
        text = "Answering now" + (f": {_duration(left)}." if left is not None else ".")
        return [Announcement(text, assertive=True)]
    if now.phase == "deciding":
        return [Announcement(f"Answer finished. Keep it, or try again ({now.takes_left} left).")]
    if now.phase == "saving":
        return [Announcement("Answer kept. The next question is coming.")]
    return []


def _time_passing(before: float, after: float, phase: str | None) -> list[Announcement]:
    """Marks crossed from ``before`` to ``after`` seconds left: whole minutes, then the last
    30 and 10 seconds (the 10 interrupts)."""
    said: list[Announcement] = []
    for minutes in range(math.ceil(before / 60) - 1, 0, -1):
        mark = minutes * 60
        if after <= mark < before:
            said.append(Announcement(f"{_duration(mark)} left."))
    for mark in LAST_SECONDS:
        if after <= mark < before:
            what = " to think" if phase == "thinking" else ""
            said.append(Announcement(f"{mark} seconds left{what}.", assertive=mark <= 10))
    return said
