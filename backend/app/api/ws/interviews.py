"""``/ws/interviews/{id}``: protocol v1 over a WebSocket (docs/protocol.md).

This route only moves messages: the handshake is authorized by the same service as REST,
and ``InterviewStream`` owns offsets, storage, acks and questions.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect, WebSocketState

from backend.app.api.ws.handshake import bearer, refuse
from backend.app.core.errors import DomainError, NotFound
from backend.app.services import messages
from backend.app.services.auth import authenticate
from backend.app.services.streaming.ownership import OwnershipUnavailable
from backend.app.services.streaming.protocol import (
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_REVOKED,
    CLOSE_SUPERSEDED,
    CLOSE_TRY_AGAIN,
    HELLO_TIMEOUT_SECONDS,
    TAKE_MESSAGES,
    BadMessage,
    ProtocolViolation,
    error,
    keeps_rules,
    parse_hello,
    parse_take_message,
    parse_text,
)
from backend.app.services.streaming.session import (
    InterviewStream,
    authorize_stream,
    still_revoked,
)

router = APIRouter()
logger = structlog.get_logger(__name__)


@router.websocket("/ws/interviews/{interview_id}")
async def interview_stream(websocket: WebSocket, interview_id: str) -> None:
    app = websocket.app
    try:
        try:
            parsed_id = uuid.UUID(interview_id)
        except ValueError:
            raise NotFound(messages.interview_not_found(interview_id)) from None
        async with app.state.sessionmaker() as session:
            principal = await authenticate(session, app.state.settings, bearer(websocket))
            await authorize_stream(session, principal, parsed_id)
    except DomainError as exc:
        await refuse(websocket, exc)
        return
    await websocket.accept()
    connection = _Connection(websocket)
    try:
        token_id = principal.claims.token_id
        async with app.state.streams.hold(parsed_id, connection, _supersede, token_id) as live:
            if not live:
                await connection.close(CLOSE_SUPERSEDED, "superseded")
                return
            try:
                revoked = await still_revoked(app.state.sessionmaker, token_id)
            except SQLAlchemyError as exc:  # the database is busy or gone: the kiosk retries
                logger.warning("stream_busy", interview_id=str(parsed_id), reason=str(exc))
                await connection.close(CLOSE_TRY_AGAIN, "busy: the database did not answer")
                return
            if revoked:
                await connection.close(CLOSE_REVOKED, "revoked")
                return
            stream = InterviewStream(app.state.sessionmaker, app.state.journal, parsed_id)
            try:
                await connection.run(stream)
            finally:
                await stream.close()
    except OwnershipUnavailable as busy:
        # Before `ready`, so no `error` message (v1 clients take one as a refusal): the
        # close code alone says "try again", and every client reconnects on it.
        logger.warning("stream_busy", interview_id=str(parsed_id), reason=str(busy))
        await connection.close(CLOSE_TRY_AGAIN, "busy: another backend process has it")


async def _supersede(connection: object, code: int) -> None:
    assert isinstance(connection, _Connection)
    reasons = {CLOSE_SUPERSEDED: "superseded", CLOSE_REVOKED: "revoked"}
    await connection.close(code, reasons.get(code, "moving"))


class _Connection:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._send_lock = asyncio.Lock()
        self.closed = False

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            if not self.closed:
                await self.websocket.send_json(message)

    async def close(self, code: int, reason: str) -> None:
        async with self._send_lock:
            if self.closed:
                return
            self.closed = True
            if self.websocket.application_state != WebSocketState.DISCONNECTED:
                with contextlib.suppress(RuntimeError, OSError):
                    await self.websocket.close(code, reason)

    async def _receive(self) -> Message:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        return message

    async def run(self, stream: InterviewStream) -> None:
        acks: asyncio.Task[None] | None = None
        try:
            if not await self._hello(stream):
                await self.close(CLOSE_NORMAL, "completed")  # an earlier connection ended it
                return
            acks = asyncio.create_task(self._ack_when_durable(stream))
            if stream.limit_due:  # e.g. no time to think: the answer starts with the question
                for event in await stream.reach_limits():
                    await self.send(event)
            while not self.closed:
                message = await self._receive()
                if message.get("bytes") is not None:
                    gap = stream.receive_audio(message["bytes"])
                    if gap is not None:
                        await self.send(gap)
                    elif stream.limit_due:
                        for event in await stream.reach_limits():
                            await self.send(event)
                    continue
                parsed = parse_text(message.get("text") or "")
                kind = parsed["type"] if parsed else None
                if parsed is not None and kind in TAKE_MESSAGES:
                    try:
                        take_message = parse_take_message(parsed)
                    except BadMessage as bad:
                        await self.send(error("bad_message", str(bad)))
                        continue
                    for reply in await stream.take_message(take_message):
                        await self.send(reply)
                elif kind == "end":
                    for reply in await stream.end():
                        await self.send(reply)
                    await self.close(CLOSE_NORMAL, "completed")
                else:
                    await self.send(error("bad_message", f"unexpected message {kind!r}"))
        except ProtocolViolation as violation:
            if violation.message is not None:
                with contextlib.suppress(Exception):
                    await self.send(violation.message)
            await self.close(violation.close_code, violation.reason)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the peer went away (or was superseded); what arrived is kept
        finally:
            if acks is not None:
                acks.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await acks

    async def _hello(self, stream: InterviewStream) -> bool:
        """Wait for ``hello`` and answer ``ready``; False if the interview is already complete."""
        deadline = asyncio.get_running_loop().time() + HELLO_TIMEOUT_SECONDS
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await self._receive()
            except TimeoutError:
                raise ProtocolViolation(CLOSE_POLICY, None, "no hello within 10 s") from None
            if message.get("bytes") is not None:
                raise ProtocolViolation(CLOSE_POLICY, None, "audio before hello")
            parsed = parse_text(message.get("text") or "")
            if parsed is None:
                await self.send(error("bad_message", "not a JSON object with a type"))
                continue
            if parsed["type"] != "hello":
                await self.send(error("bad_message", f"expected hello, got {parsed['type']!r}"))
                continue
            ready = await stream.start(parse_hello(parsed), keeps_rules(parsed))
            await self.send(ready)
            return "completed" not in ready

    async def _ack_when_durable(self, stream: InterviewStream) -> None:
        # Event-driven: the journal's commit wakes this the moment the audio is durable.
        while True:
            offset = await stream.next_ack()
            # Ten a second per seat: written out as text, not through a dict and json.dumps.
            async with self._send_lock:
                if self.closed:
                    return
                try:
                    await self.websocket.send(
                        {"type": "websocket.send", "text": f'{{"type":"ack","offset":{offset}}}'}
                    )
                except (WebSocketDisconnect, RuntimeError, OSError):
                    return  # the peer went away mid-send: the receive loop ends the stream
