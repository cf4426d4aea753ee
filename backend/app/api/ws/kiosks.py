"""``/ws/kiosks/{kiosk_id}``: a seat's control channel (docs/protocol.md, "Control channel").

The kiosk reports its state; the backend sends commands down and the kiosk acknowledges
each. This route moves messages; the room hub keeps the state and the console service the
rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from backend import __version__
from backend.app.api.ws.handshake import bearer, refuse
from backend.app.core.errors import DomainError
from backend.app.services import console
from backend.app.services.kiosks import authenticate_kiosk
from backend.app.services.room.hub import RoomHub
from backend.app.services.room.seats import REPORT_SECONDS, Alert, Seat, SeatReport
from backend.app.services.streaming.protocol import (
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_SUPERSEDED,
    HELLO_TIMEOUT_SECONDS,
)

router = APIRouter()
logger = structlog.get_logger(__name__)

CONTROL_PROTOCOL = 1
MAX_MESSAGE_BYTES = 16 * 1024


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@router.websocket("/ws/kiosks/{kiosk_id}")
async def kiosk_control(websocket: WebSocket, kiosk_id: str) -> None:
    app = websocket.app
    try:
        async with app.state.sessionmaker() as session:
            kiosk = await authenticate_kiosk(session, kiosk_id, bearer(websocket))
    except DomainError as exc:
        await refuse(websocket, exc)
        return
    await websocket.accept()
    channel = _Channel(websocket)
    hub: RoomHub = app.state.room
    async with hub.connected(kiosk.id, kiosk.test_center_id, channel.send) as seat:
        superseded = asyncio.create_task(hub.wait_replaced(kiosk.id, channel.send))
        talk = asyncio.create_task(channel.talk(app, hub, seat))
        try:
            done, _ = await asyncio.wait({superseded, talk}, return_when=asyncio.FIRST_COMPLETED)
            if superseded in done:
                await channel.close(CLOSE_SUPERSEDED, "superseded")
        finally:
            for task in (superseded, talk):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


class _Channel:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._send_lock = asyncio.Lock()
        self.closed = False

    async def send(self, text: str) -> None:
        """Raises RuntimeError when the channel is closed, however the server found out."""
        async with self._send_lock:
            if self.closed:
                raise RuntimeError("channel closed")
            try:
                await self.websocket.send_text(text)
            except (WebSocketDisconnect, OSError, RuntimeError) as exc:
                raise RuntimeError("channel closed") from exc

    async def close(self, code: int, reason: str) -> None:
        async with self._send_lock:
            if self.closed:
                return
            self.closed = True
            if self.websocket.application_state != WebSocketState.DISCONNECTED:
                with contextlib.suppress(RuntimeError, OSError):
                    await self.websocket.close(code, reason)

    async def _receive(self) -> dict[str, Any]:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None or len(text) > MAX_MESSAGE_BYTES:
            raise _Refused(CLOSE_POLICY, "text messages of at most 16 KiB only")
        try:
            parsed = json.loads(text)
        except ValueError:
            raise _Refused(CLOSE_POLICY, "not JSON") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            raise _Refused(CLOSE_POLICY, "not a JSON object with a type")
        return parsed

    async def talk(self, app: Any, hub: RoomHub, seat: Seat) -> None:
        try:
            try:
                async with asyncio.timeout(HELLO_TIMEOUT_SECONDS):
                    hello = await self._receive()
            except TimeoutError:
                raise _Refused(CLOSE_POLICY, "no hello within 10 s") from None
            if hello["type"] != "hello":
                raise _Refused(CLOSE_POLICY, "the first message must be hello")
            await self.send(json.dumps({
                "type": "welcome", "protocol": CONTROL_PROTOCOL, "kiosk_id": seat.kiosk_id,
                "test_center": seat.test_center_id, "report_seconds": REPORT_SECONDS,
                "server_version": __version__,
            }))  # fmt: skip
            while True:
                message = await self._receive()
                kind = message["type"]
                if kind == "report":
                    try:
                        report = SeatReport.model_validate(message)
                    except ValidationError as exc:
                        raise _Refused(CLOSE_POLICY, _first_problem(exc)) from None
                    raised, unheard = hub.reported(seat, report)
                    for alert_id in unheard:  # the first ack_alert was lost: say it again
                        await hub.tell(seat, "ack_alert", alert_id=alert_id)
                    if raised:
                        await _audit_alerts(app, seat, raised)
                elif kind == "ack" and isinstance(message.get("id"), str):
                    hub.acknowledged(seat.kiosk_id, message["id"], message)
                elif kind == "bye":
                    hub.signed_off(seat)
                    await self.close(CLOSE_NORMAL, "bye")
                    return
                else:
                    raise _Refused(CLOSE_POLICY, f"unexpected message {kind!r}")
        except _Refused as refused:
            logger.info("control_refused", kiosk_id=seat.kiosk_id, reason=refused.reason)
            with contextlib.suppress(Exception):
                await self.send(json.dumps({"type": "error", "detail": refused.reason}))
            await self.close(refused.code, refused.reason[:120])
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the kiosk went away; the watchdog shows it missing if it stays away


async def _audit_alerts(app: Any, seat: Seat, raised: list[Alert]) -> None:
    """Audit raised alerts; a database that cannot write now (SQLite busy) must not tear
    the channel down: the alert is already on every console, and the failure is logged."""
    try:
        async with app.state.sessionmaker() as session:
            await console.alerts_raised(session, seat, raised)
    except SQLAlchemyError:
        logger.exception("alert_audit_failed", kiosk_id=seat.kiosk_id,
                         alerts=[alert.id for alert in raised])  # fmt: skip


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "report"
    return f"bad report: {where}: {error['msg']}"
