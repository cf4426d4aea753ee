"""The room hub: live seats per test center, consoles listening, commands in flight.

One per backend process, built in ``create_app``. Kiosks' control channels feed it reports;
consoles' event streams read it; console actions send commands through it and wait for the
kiosk's acknowledgement, so a proctor learns at once whether the seat did what was asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import structlog

from backend.app.core.errors import Conflict
from backend.app.services.room.seats import Alert, Seat, SeatReport

logger = structlog.get_logger(__name__)

# A kiosk on a working link acknowledges a command within milliseconds; one that has not
# after this long is treated as not there, and the proctor is told so.
COMMAND_TIMEOUT_SECONDS = 3.0
# Ending a session first uploads what the seat has not yet had acknowledged: allow for a
# backlog (the kiosk sends at most a few seconds ahead of its acks).
END_TIMEOUT_SECONDS = 20.0
# Events a console may fall behind by before it is dropped (its page reconnects and gets a
# fresh snapshot): a stalled tab must not hold memory for ever.
LISTENER_BACKLOG = 2000
WATCH_SECONDS = 0.5

SendText = Callable[[str], Awaitable[None]]


def now_ms() -> float:
    return time.time() * 1000.0


class SeatNotConnected(Conflict):
    pass


class SeatRefused(Conflict):
    """The kiosk answered the command with a refusal (its words, for the proctor)."""


@dataclass
class _Link:
    """A kiosk's open control channel."""

    send: SendText
    closed: asyncio.Event


class RoomHub:
    def __init__(self, clock: Callable[[], float] = now_ms) -> None:
        self._clock = clock
        self._seats: dict[str, Seat] = {}
        self._links: dict[str, _Link] = {}
        self._listeners: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        # command id -> (the kiosk it went to, its acknowledgement to come)
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}

    # --- seats ---------------------------------------------------------------------------------

    def seat(self, kiosk_id: str, test_center_id: str) -> Seat:
        seat = self._seats.get(kiosk_id)
        if seat is None or seat.test_center_id != test_center_id:
            seat = self._seats[kiosk_id] = Seat(kiosk_id, test_center_id)
        return seat

    def known(self, kiosk_ids: dict[str, str]) -> None:
        """Enrolled kiosks (id -> test center) shown as offline until they connect."""
        for kiosk_id, center in kiosk_ids.items():
            self.seat(kiosk_id, center)

    def snapshot(self, test_center_id: str) -> dict[str, Any]:
        now = self._clock()
        seats = [s for s in self._seats.values() if s.test_center_id == test_center_id]
        return {
            "type": "room",
            "server_time": now,
            "seats": [seat.to_json(now) for seat in sorted(seats, key=lambda s: s.kiosk_id)],
            "alerts": [a.to_json() for seat in seats for a in seat.open_alerts()],
        }

    def seats_of(self, test_center_id: str) -> list[Seat]:
        return [s for s in self._seats.values() if s.test_center_id == test_center_id]

    def find(self, kiosk_id: str) -> Seat | None:
        return self._seats.get(kiosk_id)

    def seat_with_alert(self, alert_id: str) -> Seat | None:
        """The seat whose open alert this is."""
        for seat in self._seats.values():
            alert = seat.alerts.get(alert_id)
            if alert is not None and alert.acknowledged_at is None:
                return seat
        return None

    # --- kiosks --------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def connected(
        self, kiosk_id: str, test_center_id: str, send: SendText
    ) -> AsyncIterator[Seat]:
        """A kiosk's channel is open for the block. A second channel for the same kiosk (a
        reconnect the backend has not noticed the end of) replaces the first."""
        seat = self.seat(kiosk_id, test_center_id)
        link = _Link(send, asyncio.Event())
        previous = self._links.get(kiosk_id)
        if previous is not None:
            previous.closed.set()
        self._links[kiosk_id] = link
        seat.connected, seat.signed_off, seat.dropped_at = True, False, None
        try:
            yield seat
        finally:
            if self._links.get(kiosk_id) is link:  # not replaced by a newer channel
                del self._links[kiosk_id]
                seat.connected = False
                if not seat.signed_off:
                    seat.dropped_at = self._clock()
            self._publish_seat(seat)

    async def wait_replaced(self, kiosk_id: str, send: SendText) -> None:
        """Returns when a newer channel for the kiosk has taken this one's place."""
        link = self._links.get(kiosk_id)
        if link is not None and link.send == send:  # bound methods: equal, never identical
            await link.closed.wait()

    def signed_off(self, seat: Seat) -> None:
        seat.signed_off = True
        self._publish_seat(seat)

    def reported(self, seat: Seat, report: SeatReport) -> tuple[list[Alert], list[str]]:
        """A kiosk's report: the seat's new state for every console. Returns the alerts it
        raised for the first time (the caller audits them) and those acknowledged that it
        still reports (the caller tells it again: see ``settle``)."""
        seat.report = report
        seat.last_seen = self._clock()
        raised: list[Alert] = []
        for reported in report.alerts:
            if reported.id in seat.alerts:
                continue  # known: open, or acknowledged and the kiosk not yet told
            alert = Alert(reported.id, seat.kiosk_id, reported.kind, reported.raised_at)
            seat.alerts[alert.id] = alert
            raised.append(alert)
            self._publish(seat.test_center_id, {"type": "alert", "alert": alert.to_json()})
        unheard = self.settle(seat, report)
        self._publish_seat(seat)
        return raised, unheard

    def acknowledged(self, kiosk_id: str, command_id: str, reply: dict[str, Any]) -> None:
        pending = self._pending.get(command_id)
        # Only the kiosk the command went to can acknowledge it.
        if pending is not None and pending[0] == kiosk_id and not pending[1].done():
            pending[1].set_result(reply)

    # --- commands ------------------------------------------------------------------------------

    async def command(
        self, seat: Seat, action: str, patience: float = COMMAND_TIMEOUT_SECONDS, **arguments: Any
    ) -> str:
        """Send ``action`` to the seat and wait for its acknowledgement; the command's id.

        Raises:
            SeatNotConnected: the seat has no open channel, or did not answer in time.
            SeatRefused: the kiosk said no (it is not in a state where that can be done).
        """
        link = self._links.get(seat.kiosk_id)
        if link is None:
            raise SeatNotConnected(f"{seat.kiosk_id} is not connected")
        command_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = (seat.kiosk_id, future)
        message = {"type": "command", "id": command_id, "action": action, **arguments}
        try:
            await link.send(json.dumps(message))
            reply = await asyncio.wait_for(future, patience)
        except (TimeoutError, OSError, RuntimeError) as exc:
            logger.warning("command_unanswered", kiosk_id=seat.kiosk_id, action=action,
                           error=type(exc).__name__)  # fmt: skip
            raise SeatNotConnected(f"{seat.kiosk_id} did not answer; try again") from None
        finally:
            self._pending.pop(command_id, None)
        if not reply.get("ok", False):
            raise SeatRefused(str(reply.get("detail") or f"{seat.kiosk_id} refused"))
        return command_id

    def acknowledge_alert(self, seat: Seat, alert: Alert, by: str) -> None:
        alert.acknowledged_at = self._clock()
        alert.acknowledged_by = by
        self._publish(seat.test_center_id, {"type": "alert", "alert": alert.to_json()})
        self._publish_seat(seat)

    def settle(self, seat: Seat, report: SeatReport) -> list[str]:
        """Alerts the kiosk no longer reports are over: acknowledged ones are forgotten, open
        ones closed by the seat (the paused session went on, the seat locked). Returns the
        acknowledged alerts the kiosk still reports: it has not heard, so tell it again."""
        reported = {alert.id for alert in report.alerts}
        unheard: list[str] = []
        for alert_id, alert in list(seat.alerts.items()):
            if alert_id in reported:
                if alert.acknowledged_at is not None:
                    unheard.append(alert_id)
                continue
            if alert.acknowledged_at is None:
                alert.acknowledged_at = self._clock()
                alert.acknowledged_by = "the seat"
                self._publish(seat.test_center_id, {"type": "alert", "alert": alert.to_json()})
            del seat.alerts[alert_id]
        return unheard

    async def tell(self, seat: Seat, action: str, **arguments: Any) -> None:
        """A command whose acknowledgement nobody waits for (safe to repeat)."""
        link = self._links.get(seat.kiosk_id)
        if link is not None:
            message = {"type": "command", "id": uuid.uuid4().hex, "action": action, **arguments}
            with contextlib.suppress(OSError, RuntimeError):
                await link.send(json.dumps(message))

    # --- consoles ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def listening(self, test_center_id: str) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(LISTENER_BACKLOG)
        self._listeners.setdefault(test_center_id, set()).add(queue)
        try:
            yield queue
        finally:
            self._listeners.get(test_center_id, set()).discard(queue)

    def _publish(self, test_center_id: str, event: dict[str, Any]) -> None:
        for queue in list(self._listeners.get(test_center_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # Too far behind: drop it; the page's EventSource reconnects to a snapshot.
                # The stream ends when it reads the sentinel, which takes one slot's place.
                self._listeners[test_center_id].discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait({"type": "overflow"})

    def _publish_seat(self, seat: Seat) -> None:
        now = self._clock()
        view = seat.to_json(now)
        seat.shown = view["state"]
        self._publish(seat.test_center_id, {"type": "seat", "seat": view})

    async def watch(self) -> None:
        """Tell consoles when a seat goes missing (no report for a while): nothing else
        would, since a missing seat by definition sends nothing."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            now = self._clock()
            for seat in list(self._seats.values()):
                if seat.state(now) != seat.shown:
                    self._publish_seat(seat)
