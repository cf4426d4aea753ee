"""What a kiosk reports on its control channel, and what the console shows of it.

Kept in memory per backend process: a seat's live state is only worth something while it is
fresh, and a kiosk reports again within 2 s of any reconnect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Seats with no report for this long are "missing": frozen, or cut off without a word.
MISSING_AFTER_SECONDS = 10.0
# A seat whose channel dropped is missing sooner: a kiosk whose link blipped is back within
# a second or two (it retries after 0.5 s); one that stays away was killed or unplugged.
DROPPED_GRACE_SECONDS = 3.0
# How often a kiosk reports when nothing changes (it also reports at once on a change).
REPORT_SECONDS = 2.0

SeatState = Literal["locked", "launching", "checking", "thinking", "answering", "paused", "done"]
# What the console shows: the kiosk's own state, or what the backend concludes about it.
ShownState = Literal[
    "locked", "launching", "checking", "thinking", "answering", "paused", "done",
    "offline", "missing",
]  # fmt: skip
AlertKind = Literal["called", "idle"]


class ReportedAlert(BaseModel):
    """An alert the seat has raised and not yet seen acknowledged; re-reported until then,
    so one that crossed a reconnect is not lost and one reported twice is one alert."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    kind: AlertKind
    raised_at: float = Field(ge=0)  # epoch milliseconds, the kiosk's clock


class SeatReport(BaseModel):
    """One report (the ``report`` message of docs/protocol.md, "Control channel")."""

    model_config = ConfigDict(extra="ignore")

    state: SeatState
    sent_at: float = Field(ge=0)  # epoch milliseconds, the kiosk's clock
    candidate: str | None = Field(default=None, max_length=200)
    posting: str | None = Field(default=None, max_length=200)
    interview_id: str | None = Field(
        default=None, pattern=r"^[0-9a-fA-F-]{32,36}$", description="a UUID"
    )
    question_index: int | None = Field(default=None, ge=0, le=1000)
    question_total: int | None = Field(default=None, ge=0, le=1000)
    seconds_left: float | None = Field(default=None, ge=0, le=86400)
    mic_dbfs: float | None = Field(default=None, ge=-200, le=10)
    unacked_seconds: float = Field(default=0.0, ge=0, le=86400 * 7)
    reconnects: int = Field(default=0, ge=0)
    last_error: str | None = Field(default=None, max_length=300)
    version: str | None = Field(default=None, max_length=40)
    pause_reason: str | None = Field(default=None, max_length=200)
    alerts: list[ReportedAlert] = Field(default_factory=list, max_length=20)


@dataclass
class Alert:
    id: str
    kiosk_id: str
    kind: AlertKind
    raised_at: float  # epoch ms
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None

    @property
    def text(self) -> str:
        if self.kind == "idle":
            return "Paused: no activity at the seat"
        return "The candidate is calling the proctor"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kiosk_id": self.kiosk_id,
            "kind": self.kind,
            "text": self.text,
            "raised_at": self.raised_at,
            "acknowledged_at": self.acknowledged_at,
            "acknowledged_by": self.acknowledged_by,
        }


@dataclass
class Seat:
    kiosk_id: str
    test_center_id: str
    report: SeatReport | None = None
    last_seen: float | None = None  # epoch ms, the backend's clock
    connected: bool = False
    dropped_at: float | None = None  # epoch ms: the channel closed without a "bye"
    # The kiosk closed its channel on purpose (it quit): offline, not missing.
    signed_off: bool = False
    alerts: dict[str, Alert] = field(default_factory=dict)
    # The state last sent to consoles, so the watchdog tells them only of a change.
    shown: ShownState | None = None

    def state(self, now_ms: float) -> ShownState:
        if self.report is None or self.last_seen is None or self.signed_off:
            return "offline"
        if now_ms - self.last_seen > MISSING_AFTER_SECONDS * 1000:
            return "missing"
        dropped = self.dropped_at if not self.connected else None
        if dropped is not None and now_ms - dropped > DROPPED_GRACE_SECONDS * 1000:
            return "missing"
        return self.report.state

    def open_alerts(self) -> list[Alert]:
        return [alert for alert in self.alerts.values() if alert.acknowledged_at is None]

    def to_json(self, now_ms: float) -> dict[str, Any]:
        state = self.state(now_ms)
        report = self.report
        unacked = report.unacked_seconds if report else 0.0
        open_alerts = len(self.open_alerts())
        return {
            "kiosk_id": self.kiosk_id,
            "state": state,
            "candidate": report.candidate if report else None,
            "posting": report.posting if report else None,
            "interview_id": report.interview_id if report else None,
            "question_index": report.question_index if report else None,
            "question_total": report.question_total if report else None,
            "seconds_left": report.seconds_left if report else None,
            "mic_dbfs": report.mic_dbfs if report else None,
            "unacked_seconds": unacked,
            "reconnects": report.reconnects if report else 0,
            "last_error": report.last_error if report else None,
            "version": report.version if report else None,
            "pause_reason": report.pause_reason if report else None,
            "last_seen": self.last_seen,
            "reported_at": report.sent_at if report else None,
            "alerts": open_alerts,
            "attention": bool(open_alerts) or state == "missing" or unacked > 5,
        }
