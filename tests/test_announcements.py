"""What a screen reader is told as the interview moves on (kiosk/core/announcements.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.announcements import Announcement, Announcer, Moment


def _q(index: int = 0, phase: str | None = "thinking", left: float | None = 30.0,
       stream: str = "streaming", takes_left: int = 0) -> Moment:  # fmt: skip
    return Moment(index, 5, f"Question text {index}", phase, left, stream, takes_left)


def test_a_new_question_is_read_in_full_with_its_time_to_think() -> None:
    said = Announcer().changes(_q())
    assert said == [
        Announcement("Question 1 of 5. Question text 0"),
        Announcement("Time to think: 30 seconds. Start answering when you are ready."),
    ]


def test_each_phase_is_said_as_it_starts() -> None:
    announcer = Announcer()
    announcer.changes(_q())
    assert announcer.changes(_q(phase="answering", left=180)) == [
        Announcement("Answering now: 3 minutes.", assertive=True)
    ]
    assert announcer.changes(_q(phase="deciding", left=None, takes_left=1)) == [
        Announcement("Answer finished. Keep it, or try again (1 left).")
    ]
    assert announcer.changes(_q(phase="saving", left=None)) == [
        Announcement("Answer kept. The next question is coming.")
    ]
    assert announcer.changes(_q(index=1, left=None))[0].text.startswith("Question 2 of 5.")


def test_minutes_and_the_last_seconds_are_said_once_as_they_pass() -> None:
    announcer = Announcer()
    announcer.changes(_q(phase="answering", left=150.0))
    said = []
    left = 150.0
    while left > 0:
        left -= 0.25
        said += announcer.changes(_q(phase="answering", left=left))
    assert said == [
        Announcement("2 minutes left."), Announcement("1 minute left."),
        Announcement("30 seconds left."), Announcement("10 seconds left.", assertive=True),
    ]  # fmt: skip


def test_thinking_says_its_last_seconds_are_for_thinking() -> None:
    announcer = Announcer()
    announcer.changes(_q(left=12.0))
    assert announcer.changes(_q(left=9.9)) == [
        Announcement("10 seconds left to think.", assertive=True)
    ]


def test_the_connection_lost_and_back_is_said_once_each() -> None:
    announcer = Announcer()
    announcer.changes(_q())
    lost = announcer.changes(_q(stream="reconnecting"))
    assert lost == [Announcement(
        "Connection lost. Keep going: your answers are kept at this seat.", assertive=True
    )]  # fmt: skip
    assert announcer.changes(_q(stream="connecting")) == []  # still the same outage
    assert announcer.changes(_q(stream="streaming")) == [Announcement("Connection back.")]
    assert announcer.changes(_q(stream="failed"))[0].assertive


def test_a_first_connection_is_not_announced_as_coming_back() -> None:
    announcer = Announcer()
    announcer.changes(Moment(stream="connecting"))
    assert announcer.changes(_q()) == Announcer().changes(_q())


@given(st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=200),
       st.floats(min_value=1, max_value=900))  # fmt: skip
def test_every_mark_is_said_at_most_once_and_in_order(steps: list[float], start: float) -> None:
    """However the clock moves (ticks of any size, pauses), no mark is said twice and the
    marks come in the order they pass."""
    announcer = Announcer()
    announcer.changes(_q(phase="answering", left=start))
    left, said = start, []
    for step in steps:
        left = max(0.0, left - step)
        said += [a.text for a in announcer.changes(_q(phase="answering", left=left))]
    assert len(said) == len(set(said))
    seconds = [int(t.split()[0]) * (60 if "minute" in t else 1) for t in said]
    assert seconds == sorted(seconds, reverse=True)
    assert all(s < start for s in seconds)
