"""What passes between a seat and its proctor besides the interview: calls for help and short
messages. No Qt, no network: the control channel reports ``alerts`` and applies commands here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

AlertKind = Literal["called", "idle"]
MAX_MESSAGE = 200


@dataclass(frozen=True)
class CallAlert:
    id: str
    kind: AlertKind
    raised_at: float  # epoch milliseconds

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "raised_at": self.raised_at}


class ProctorDesk:
    def __init__(
        self, on_change: Callable[[], None], clock: Callable[[], float] = time.time
    ) -> None:
        self._on_change = on_change
        self._clock = clock
        # Raised and not yet acknowledged by a proctor: reported on every report until then,
        # so an alert raised while the link was down still arrives.
        self.alerts: list[CallAlert] = []
        self.message: str | None = None  # the proctor's last message, until dismissed
        self.coming = False  # a proctor acknowledged the call: "The proctor is on the way"

    def call(self, kind: AlertKind = "called") -> CallAlert:
        """Ask for the proctor; a second call of the same kind is the same alert."""
        for alert in self.alerts:
            if alert.kind == kind:
                return alert
        alert = CallAlert(uuid.uuid4().hex, kind, self._clock() * 1000.0)
        self.alerts.append(alert)
        self.coming = False
        self._on_change()
        return alert

    @property
    def calling(self) -> bool:
        return any(alert.kind == "called" for alert in self.alerts)

    def acknowledged(self, alert_id: str) -> None:
        """A proctor saw it. Unknown ids (already acknowledged, or from before a lock) are
        fine: acknowledging is safe to repeat."""
        before = len(self.alerts)
        self.alerts = [alert for alert in self.alerts if alert.id != alert_id]
        if len(self.alerts) != before:
            self.coming = True
            self._on_change()

    def settle(self, kind: AlertKind) -> None:
        """The reason for an alert has gone (the paused session continued)."""
        before = len(self.alerts)
        self.alerts = [alert for alert in self.alerts if alert.kind != kind]
        if len(self.alerts) != before:
            self._on_change()

    def show(self, text: str) -> None:
        self.message = " ".join(text.split())[:MAX_MESSAGE] or None
        self._on_change()

    def dismiss(self) -> None:
        if self.message is not None:
            self.message = None
            self._on_change()

    def clear(self) -> None:
        """The seat locked: the candidate's calls and messages go with them."""
        self.alerts, self.message, self.coming = [], None, False
