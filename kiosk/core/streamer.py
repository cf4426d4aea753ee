"""``AudioStreamer``: the kiosk's side of protocol v1 (docs/protocol.md). No Qt.

Captured blocks go to the spool journal first, then over the WebSocket. What the server
acknowledges is dropped; everything else is resent after any drop, from the server's
``resume_offset``. Reconnects are quick (a LAN): 0.25 s, doubling to 5 s at most. Refusals
that a retry cannot fix (401/403/404/409) end the stream with a ``StreamError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from kiosk.core.errors import StreamError
from kiosk.core.spool import Spool

logger = structlog.get_logger(__name__)

HEADER = struct.Struct(">Q")
MAX_FRAME_AUDIO = 32768
FATAL_STATUSES = {
    401: "the session token was refused (signed out or expired)",
    403: "this interview belongs to someone else",
    404: "the interview does not exist on the backend",
    409: "the interview is already finished",
}
FIRST_RETRY_SECONDS = 0.25
MAX_RETRY_SECONDS = 5.0
# At most this much audio is sent and not yet acknowledged. Without a cap a slow uplink
# queues the whole backlog in socket buffers, the pong waits behind it, and the server drops
# a link that is delivering audio (its 20 s ping timeout; measured: after ~40 s at half real
# time). 4 s stays under 20 s of link time down to a fifth of real time, and with acks every
# 0.25 s still lets a reconnect catch up at up to 16x real time.
MAX_IN_FLIGHT_SECONDS = 4.0


class StreamState(StrEnum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True)
class Question:
    index: int
    total: int
    text: str


class _Fatal(Exception):
    pass


class AudioStreamer:
    def __init__(
        self,
        spool: Spool,
        token: str,
        kiosk_id: str = "",
        client_version: str = "",
    ) -> None:
        self._spool = spool
        self._token = token
        self._kiosk_id = kiosk_id
        self._client_version = client_version
        self.sample_rate = spool.info.sample_rate
        self._max_in_flight = int(MAX_IN_FLIGHT_SECONDS * self.sample_rate) * 2
        self.ws_url = spool.info.ws_url
        self.interview_id = spool.info.interview_id
        # Unacknowledged audio, from stream offset self.acked on (a restart reloads the spool).
        self.acked = spool.base
        self._pending = bytearray(spool.unacked(spool.base))
        self._sent = self.acked
        self.state = StreamState.CONNECTING
        self.question: Question | None = None
        self.completed: dict[str, Any] | None = None
        self.error: str | None = None  # why the stream failed, for the screen
        self.reconnects = 0
        self._wake = asyncio.Event()
        self._answer_done_for: int | None = None  # question index an answer_done is owed for
        self._answer_done_sent = False
        self._end_requested = False
        self._end_sent = False
        self._question_changed = asyncio.Event()
        self._finished = asyncio.Event()
        self._ready = asyncio.Event()

    # --- what the capture side and the UI use ------------------------------------------------

    @property
    def captured_end(self) -> int:
        return self.acked + len(self._pending)

    @property
    def unacked_seconds(self) -> float:
        return len(self._pending) / (self.sample_rate * 2)

    def feed(self, block: bytes) -> None:
        """A captured block (whole int16 samples). Journaled before it can be sent."""
        if self._end_requested:
            return
        self._spool.append(block)
        self._pending.extend(block)
        self._wake.set()

    async def answer_done(self) -> Question | None:
        """Tell the server the current answer ended; returns the next question (None: done)."""
        current = self.question.index if self.question else None
        if current is None:
            return None
        self._answer_done_for = current
        self._answer_done_sent = False
        self._question_changed.clear()
        self._wake.set()
        await self._question_changed.wait()
        return self.question

    async def end(self) -> dict[str, Any] | None:
        """Send everything captured, then end; returns the server's ``completed`` report."""
        self._end_requested = True
        self._wake.set()
        await self._finished.wait()
        if self.state is StreamState.FAILED:
            raise StreamError(self.error or "the stream failed")
        return self.completed

    async def wait_ready(self) -> None:
        """Until the first ``ready`` of a connection (or the stream's end)."""
        ready = asyncio.create_task(self._ready.wait())
        finished = asyncio.create_task(self._finished.wait())
        try:
            await asyncio.wait({ready, finished}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            finished.cancel()
        if self.state is StreamState.FAILED:
            raise StreamError(self.error or "the stream failed")

    # --- the connection loop -----------------------------------------------------------------

    async def run(self) -> None:
        """Stream until the interview completes; reconnect on any drop. Raises StreamError."""
        delay = FIRST_RETRY_SECONDS
        try:
            while not self._finished.is_set():
                self._ready.clear()
                try:
                    await self._connection()
                except _Fatal as exc:
                    self._fail(str(exc))
                    raise StreamError(str(exc)) from None
                except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
                    logger.info(
                        "stream_dropped",
                        interview_id=self.interview_id,
                        error=type(exc).__name__,
                        unacked_bytes=len(self._pending),
                    )
                if self._finished.is_set():
                    break
                if self._ready.is_set():  # that link worked: retry quickly again
                    delay = FIRST_RETRY_SECONDS
                self.state = StreamState.RECONNECTING
                self.reconnects += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
        finally:
            if self.state is not StreamState.COMPLETED:
                self._spool.close()  # kept on disk: a restarted kiosk resumes from it

    def _fail(self, message: str) -> None:
        self.error = message
        self.state = StreamState.FAILED
        self._finished.set()
        self._question_changed.set()

    async def _connection(self) -> None:
        try:
            websocket = await connect(
                self.ws_url,
                additional_headers={"Authorization": f"Bearer {self._token}"},
                open_timeout=5,
                ping_interval=10,
                ping_timeout=20,
                max_size=1 << 20,
                compression=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 409 and self._end_sent:
                # We sent `end` and lost the link before `completed`: it did complete.
                self.state = StreamState.COMPLETED
                self._finished.set()
                self._spool.remove()
                return
            if status in FATAL_STATUSES:
                raise _Fatal(f"{FATAL_STATUSES[status]} (HTTP {status})") from None
            raise
        async with websocket:
            await websocket.send(json.dumps({
                "type": "hello", "protocol": 1,
                "audio": {"encoding": "pcm_s16le", "sample_rate": self.sample_rate, "channels": 1},
                "kiosk_id": self._kiosk_id, "client_version": self._client_version,
            }))  # fmt: skip
            ready = await self._expect_ready(websocket)
            self._on_acked(int(ready["resume_offset"]))
            self._sent = self.acked
            self._set_question(ready.get("question"))
            self.state = StreamState.STREAMING
            self._ready.set()
            sender = asyncio.create_task(self._send_loop(websocket))
            try:
                await self._receive_loop(websocket)
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await sender

    async def _expect_ready(self, websocket: ClientConnection) -> dict[str, Any]:
        async with asyncio.timeout(10):
            while True:
                message = json.loads(await websocket.recv())
                if message.get("type") == "ready":
                    return dict(message)
                if message.get("type") == "error":
                    raise _Fatal(f"the server refused the stream: {message.get('message')}")

    def _set_question(self, question: dict[str, Any] | None) -> None:
        previous = self.question
        self.question = Question(**question) if question else None
        owed = self._answer_done_for
        if owed is not None and (self.question is None or self.question.index > owed):
            self._answer_done_for = None  # the server already moved on: do not advance twice
            self._question_changed.set()
        elif previous != self.question:
            self._question_changed.set()

    def _on_acked(self, offset: int) -> None:
        if offset <= self.acked:
            return
        del self._pending[: offset - self.acked]
        self.acked = offset
        self._spool.acknowledge(offset)
        self._wake.set()  # room in the window again

    async def _send_loop(self, websocket: ClientConnection) -> None:
        while True:
            self._wake.clear()
            while self._sent < self.captured_end:
                start = self._sent - self.acked
                room = self._max_in_flight - start
                if room <= 0:
                    break  # wait for an ack (it sets _wake)
                chunk = bytes(self._pending[start : start + min(MAX_FRAME_AUDIO, room)])
                await websocket.send(HEADER.pack(self._sent) + chunk)
                self._sent += len(chunk)
            caught_up = self._sent == self.captured_end
            # answer_done marks the end of the answer's audio: only after all of it is sent.
            if caught_up and self._answer_done_for is not None and not self._answer_done_sent:
                self._answer_done_sent = True
                await websocket.send(json.dumps({"type": "answer_done"}))
            if self._end_requested and not self._end_sent and caught_up:
                self._end_sent = True
                await websocket.send(json.dumps({"type": "end"}))
            await self._wake.wait()

    async def _receive_loop(self, websocket: ClientConnection) -> None:
        async for raw in websocket:
            if isinstance(raw, bytes):
                continue
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ack":
                self._on_acked(int(message["offset"]))
            elif kind == "gap" or (kind == "error" and message.get("code") == "gap"):
                self._sent = int(message["expected_offset"])
                self._wake.set()
            elif kind == "question":
                self._answer_done_for = None
                self._set_question({k: message[k] for k in ("index", "total", "text")})
            elif kind == "questions_complete":
                self._answer_done_for = None
                self.question = None
                self._question_changed.set()
            elif kind == "completed":
                self.completed = dict(message)
                self.state = StreamState.COMPLETED
                self._spool.remove()
                self._finished.set()
                return
            elif kind == "error":
                logger.warning(
                    "stream_error", code=message.get("code"), message=message.get("message")
                )
        # The server closed the socket: a protocol refusal is fatal, anything else reconnects.
        code = websocket.close_code
        if code in (1003, 1008, 1009):
            raise _Fatal(f"the server closed the stream: {websocket.close_reason} ({code})")
        if code == 4000:
            raise _Fatal("another connection took over this interview")
        raise ConnectionError(f"closed {code}")
