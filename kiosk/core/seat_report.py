"""The seat as the room console sees it: one ``report`` of the control channel
(docs/protocol.md, "Control channel"), built from the flow's state. No Qt, no network."""

from __future__ import annotations

import time
from typing import Any

from kiosk import __version__
from kiosk.core.answer_clock import Phase
from kiosk.core.flow import KioskFlow, Screen
from kiosk.core.streamer import StreamState

_STATES = {
    Screen.LOCKED: "locked",
    Screen.SIGN_IN: "locked",
    Screen.EXIT_PIN: "locked",
    Screen.LAUNCH: "launching",
    Screen.CHOOSE: "launching",
    Screen.MIC_CHECK: "checking",
    Screen.PAUSED: "paused",
    Screen.DONE: "done",
}


def seat_state(flow: KioskFlow) -> str:
    screen = flow.state.screen
    if screen is Screen.INTERVIEW:
        clock = flow.state.answer
        return "thinking" if clock is not None and clock.phase is Phase.THINKING else "answering"
    return _STATES[screen]


def seat_report(flow: KioskFlow, clock: Any = time.time) -> dict[str, Any]:
    """Everything the console shows of this seat, now."""
    state = flow.state
    streamer = flow.streamer
    question = state.question
    answer = state.answer
    seconds_left = None
    if answer is not None and streamer is not None:
        seconds_left = answer.remaining(streamer.captured_end)
    capturing = state.screen in (Screen.MIC_CHECK, Screen.INTERVIEW)
    error = (
        streamer.error if streamer is not None and streamer.state is StreamState.FAILED else None
    )
    return _within_limits(
        {
            "type": "report",
            "sent_at": clock() * 1000.0,
            "state": seat_state(flow),
            "candidate": state.candidate.full_name if state.candidate is not None else None,
            "posting": state.posting,
            "interview_id": streamer.interview_id if streamer is not None else None,
            "question_index": question.index if question is not None else None,
            "question_total": question.total if question is not None else None,
            "seconds_left": round(seconds_left, 1) if seconds_left is not None else None,
            "mic_dbfs": round(state.mic_level_dbfs, 1) if capturing else None,
            "unacked_seconds": round(streamer.unacked_seconds, 2) if streamer is not None else 0.0,
            "reconnects": streamer.reconnects if streamer is not None else 0,
            "last_error": error,
            "version": __version__,
            "pause_reason": state.pause_reason,
            "alerts": [alert.to_json() for alert in flow.desk.alerts],
        }
    )


# What the backend accepts of each text (backend/app/services/room/seats.py): a longer name
# must shorten, not get every report refused.
_LIMITS = {"candidate": 200, "posting": 200, "pause_reason": 200, "last_error": 300}


def _within_limits(report: dict[str, Any]) -> dict[str, Any]:
    for name, limit in _LIMITS.items():
        text = report.get(name)
        if isinstance(text, str) and len(text) > limit:
            report[name] = text[: limit - 1] + "…"
    return report
