"""The seat's control channel to the backend's room console (docs/protocol.md, "Control
channel"): it reports the seat every 2 s and at once on a change, and applies the proctor's
commands, acknowledging each.

It never stops the kiosk: a backend without a console, a link that drops, a refused
credential are logged and retried (a refused one slowly); the interview goes on regardless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from kiosk import __version__
from kiosk.core.errors import Busy, KioskError
from kiosk.core.flow import KioskFlow
from kiosk.core.seat_report import seat_report
from kiosk.core.tls import CERTIFICATE_NOT_TRUSTED, refusal_reason

logger = structlog.get_logger(__name__)

REPORT_SECONDS = 2.0
# A burst of changes (a level meter, a countdown) becomes at most this many reports a second.
MIN_REPORT_GAP_SECONDS = 0.1
FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS = 0.5, 5.0
# Refused credential: IT must enroll the kiosk; trying every second would only fill logs.
REFUSED_RETRY_SECONDS = 60.0
# An action under way at the seat (a button just pressed) finishes within this; a pause
# waits for it rather than failing.
BUSY_RETRY_SECONDS, BUSY_PATIENCE_SECONDS = 0.05, 2.0
REMEMBERED_COMMANDS = 128


def control_url(backend_url: str, kiosk_id: str) -> str:
    base = backend_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return f"{base}/ws/kiosks/{kiosk_id}"


class SeatControl:
    def __init__(
        self,
        flow: KioskFlow,
        url: str,
        credential: str,
        clock: Callable[[], float] = time.time,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._flow = flow
        self.url = url
        self._tls = tls  # for wss:// only (kiosk/core/tls.py)
        self._credential = credential
        self._clock = clock
        self._changed = asyncio.Event()
        self._replies: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.connected = False
        self.reports_sent = 0
        self.last_error: str | None = None
        self._websocket: ClientConnection | None = None
        flow.subscribe(self._changed.set)

    async def run(self) -> None:
        """Keep the channel open until cancelled."""
        delay = FIRST_RETRY_SECONDS
        while True:
            refused = False
            try:
                await self._connection()
            except ssl.SSLCertVerificationError as exc:
                self.last_error = CERTIFICATE_NOT_TRUSTED
                logger.warning("control_certificate_refused", reason=refusal_reason(exc))
                refused = True  # the same certificate will be there in a second
            except InvalidStatus as exc:
                status = exc.response.status_code
                self.last_error = f"the backend refused this kiosk (HTTP {status})"
                logger.warning("control_refused", status=status)
                refused = status in (401, 403)
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, ValueError) as exc:
                # ValueError: a message that is not JSON; the link is dropped and made again.
                self.last_error = type(exc).__name__
                logger.info("control_dropped", error=type(exc).__name__)
            except Exception as exc:
                # A bug here must never end the channel for good (the seat would show missing
                # until the kiosk restarts): logged with its traceback, and tried again.
                self.last_error = type(exc).__name__
                logger.exception("control_error")
            finally:
                if self.connected:  # that link worked: the next attempt is a quick one
                    delay = FIRST_RETRY_SECONDS
                self.connected = False
                self._websocket = None
            await asyncio.sleep(REFUSED_RETRY_SECONDS if refused else delay)
            delay = FIRST_RETRY_SECONDS if refused else min(delay * 2, MAX_RETRY_SECONDS)

    async def close(self) -> None:
        """The kiosk is quitting: say so, so the console shows it offline, not missing."""
        websocket = self._websocket
        if websocket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.send(json.dumps({"type": "bye"})), 1.0)
                await asyncio.wait_for(websocket.close(), 1.0)

    async def _connection(self) -> None:
        async with connect(
            self.url,
            ssl=self._tls if self.url.startswith("wss:") else None,
            additional_headers={"Authorization": f"Bearer {self._credential}"},
            open_timeout=5, ping_interval=10, ping_timeout=20, max_size=1 << 16,
            compression=None,
        ) as websocket:  # fmt: skip
            await websocket.send(json.dumps({"type": "hello", "protocol": 1,
                                             "version": __version__}))  # fmt: skip
            welcome = json.loads(await asyncio.wait_for(websocket.recv(), 10))
            if welcome.get("type") != "welcome":
                raise ConnectionClosed(None, None)
            self._websocket = websocket
            self.connected = True
            self.last_error = None
            reporter = asyncio.create_task(self._report_loop(websocket))
            try:
                async for raw in websocket:
                    message = json.loads(raw)
                    if not isinstance(message, dict):
                        raise ValueError("not a JSON object")
                    if message.get("type") == "command":
                        # Applied in order, one at a time, on this loop.
                        reply = await self._apply(message)
                        await websocket.send(json.dumps(reply))
                        self._changed.set()
                    elif message.get("type") == "error":
                        logger.warning("control_error", detail=message.get("detail"))
            finally:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter

    async def _report_loop(self, websocket: ClientConnection) -> None:
        while True:
            self._changed.clear()
            await websocket.send(json.dumps(seat_report(self._flow, self._clock)))
            self.reports_sent += 1
            await asyncio.sleep(MIN_REPORT_GAP_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), REPORT_SECONDS)

    async def _apply(self, command: dict[str, Any]) -> dict[str, Any]:
        """Apply one command; a command seen before gets its first reply again (idempotent)."""
        command_id = str(command.get("id", ""))
        if command_id in self._replies:
            return self._replies[command_id]
        action = command.get("action")
        try:
            await self._do(action, command)
            reply: dict[str, Any] = {"type": "ack", "id": command_id, "ok": True}
        except KioskError as exc:
            reply = {"type": "ack", "id": command_id, "ok": False,
                     "detail": f"{self._flow.kiosk_id}: {exc}"}  # fmt: skip
        except Exception:
            logger.exception("proctor_command_failed", action=action)
            reply = {"type": "ack", "id": command_id, "ok": False,
                     "detail": f"{self._flow.kiosk_id}: the kiosk could not do that"}  # fmt: skip
        logger.info("proctor_command", action=action, ok=reply["ok"])
        self._replies[command_id] = reply
        while len(self._replies) > REMEMBERED_COMMANDS:
            self._replies.popitem(last=False)
        return reply

    async def _do(self, action: object, command: dict[str, Any]) -> None:
        flow = self._flow
        if action == "pause":
            reason = str(command.get("reason") or "")

            async def pause() -> None:
                flow.pause_for_proctor(reason)

            await _when_idle(pause)
        elif action == "end":
            await _when_idle(flow.end_for_proctor)
        elif action == "lock":
            flow.lock_for_proctor()
        elif action == "resume":
            flow.resume_for_proctor()
        elif action == "message":
            flow.show_proctor_message(str(command.get("text") or ""))
        elif action == "ack_alert":
            flow.desk.acknowledged(str(command.get("alert_id") or ""))
        else:
            raise KioskError(f"this kiosk does not know the command {action!r}")


async def _when_idle(attempt: Callable[[], Awaitable[None]]) -> None:
    """``attempt``, again while the seat is busy with an action a person started (a button
    just pressed finishes within moments), for up to BUSY_PATIENCE_SECONDS."""
    deadline = asyncio.get_running_loop().time() + BUSY_PATIENCE_SECONDS
    while True:
        try:
            await attempt()
            return
        except Busy:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(BUSY_RETRY_SECONDS)
