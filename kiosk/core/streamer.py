"""``AudioStreamer``: the kiosk's side of protocol v1.1 (docs/protocol.md). No Qt.

Captured blocks go to the spool journal first, then over the WebSocket. What the server
acknowledges is dropped; everything else is resent after any drop, from the server's
``resume_offset``. Reconnects are quick (a LAN): 0.25 s, doubling to 5 s at most.

Every step survives a drop: after each ``ready`` the client says again whatever it still
owes (``answer_done`` for a question the server has not moved past, ``end``), and the server
treats a repeat as already done. Refusals that a retry cannot fix (401/403/404/409, a
protocol close, a message this client cannot read, any unexpected error) end the stream with
a ``StreamError``: the screen shows it, and nothing waits forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from enum import StrEnum
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from kiosk.core import stream_messages as msg
from kiosk.core.answer_clock import TakeAction
from kiosk.core.errors import CertificateNotTrusted, InsecureTransport, StreamError
from kiosk.core.spool import Spool
from kiosk.core.stream_messages import Question
from kiosk.core.tls import CERTIFICATE_NOT_TRUSTED, PLAIN_STREAM_REFUSED, refusal_reason

__all__ = ["AudioStreamer", "Question", "StreamState"]

logger = structlog.get_logger(__name__)

MAX_FRAME_AUDIO = 32768
# Captured 20 ms blocks go out as 100 ms frames: a backend's cost is per message (five times
# fewer than one a block), and each frame is acked as soon as it is durable. Anything owed
# (a take message, answer_done, end) sends what is waiting at once, whatever its length, and
# so does a frame that stopped filling for FRAME_SECONDS (capture paused or stopped).
FRAME_SECONDS = 0.1
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
# time). 4 s stays under 20 s of link time down to a fifth of real time, and with acks as
# each fsync returns (milliseconds on a LAN) still lets a reconnect catch up many times over.
MAX_IN_FLIGHT_SECONDS = 4.0


class StreamState(StrEnum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    COMPLETED = "completed"
    FAILED = "failed"


class AudioStreamer:
    def __init__(
        self,
        spool: Spool,
        token: str,
        kiosk_id: str = "",
        client_version: str = "",
        tls: ssl.SSLContext | None = None,
        encrypted_only: bool = False,
    ) -> None:
        self._spool = spool
        # For wss:// only (kiosk/core/tls.py: the same trust as the REST client's).
        self._tls = tls
        # The backend was reached over https://: a ws:// stream URL from it (a TLS proxy
        # without IK_WS_BASE_URL, say) would send audio and the token in the clear.
        self._encrypted_only = encrypted_only
        self._token = token
        self._kiosk_id = kiosk_id
        self._client_version = client_version
        self.sample_rate = spool.info.sample_rate
        self._max_in_flight = int(MAX_IN_FLIGHT_SECONDS * self.sample_rate) * 2
        self._frame_bytes = int(FRAME_SECONDS * self.sample_rate) * 2
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
        self._failure: type[StreamError] = StreamError
        self.reconnects = 0
        self._wake = asyncio.Event()
        # What the client owes the server. It is said again on every connection until the
        # server's answer shows it arrived: a drop may have swallowed it in either direction.
        self._answer_done_for: int | None = None  # the question an answer_done is owed for
        # v1.2 take messages owed, in order: each is sent after the audio before its offset
        # and before any after it, and said again after every ready until the server shows
        # it arrived (its event, or a question state past it).
        self._owed: list[TakeAction] = []
        self._end_requested = False
        self._end_ever_sent = False  # a 409 after this means the end did arrive
        self._question_changed = asyncio.Event()
        self._finished = asyncio.Event()
        self._ready = asyncio.Event()

    # --- what the capture side and the UI use ------------------------------------------------

    @property
    def captured_end(self) -> int:
        return self.acked + len(self._pending)

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * 2

    @property
    def unacked_seconds(self) -> float:
        return len(self._pending) / (self.sample_rate * 2)

    def feed(self, block: bytes) -> None:
        """A captured block (whole int16 samples). Journaled before it can be sent."""
        if self._end_requested or self._finished.is_set():
            return
        self._spool.append(block)
        self._pending.extend(block)
        self._wake.set()

    async def answer_done(self) -> Question | None:
        """Tell the server the current answer ended; returns the next question (None: done).

        Raises ``StreamError`` if the stream fails meanwhile, rather than waiting for good.
        """
        if self._finished.is_set():
            self._raise_if_failed()
            return None
        current = self.question.index if self.question else None
        if current is None:
            return None
        self._answer_done_for = current
        self._question_changed.clear()
        self._wake.set()
        await self._question_changed.wait()
        self._raise_if_failed()
        return self.question

    def say(self, action: TakeAction) -> None:
        """Owe the server a take message (v1.2); it goes out in order with the audio."""
        if self._finished.is_set():
            return
        self._owed.append(action)
        self._wake.set()

    async def end(self) -> dict[str, Any] | None:
        """Send everything captured, then end; returns the server's ``completed`` report
        (None when the server had already completed the interview and a drop ate the report)."""
        self._end_requested = True
        self._wake.set()
        await self._finished.wait()
        self._raise_if_failed()
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
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self.state is StreamState.FAILED:
            # The same kind as the failure (an InsecureTransport stays one: IT's to fix).
            raise self._failure(self.error or "the stream failed")

    # --- the connection loop -----------------------------------------------------------------

    async def run(self) -> None:
        """Stream until the interview completes; reconnect on any drop. Raises StreamError."""
        delay = FIRST_RETRY_SECONDS
        try:
            while not self._finished.is_set():
                self._ready.clear()
                try:
                    await self._connection()
                except StreamError as exc:
                    self._fail(str(exc), type(exc))
                    raise
                except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
                    logger.info(
                        "stream_dropped",
                        interview_id=self.interview_id,
                        error=type(exc).__name__,
                        unacked_bytes=len(self._pending),
                    )
                except Exception as exc:
                    # A bug here must not leave "Saving your answers…" on screen for good.
                    logger.exception("stream_client_error", interview_id=self.interview_id)
                    message = f"the audio stream stopped unexpectedly ({type(exc).__name__})"
                    self._fail(message)
                    raise StreamError(message) from exc
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
            if not self._finished.is_set():  # cancelled: nobody may wait on us for good
                self._fail("the audio stream was stopped")

    def _fail(self, message: str, kind: type[StreamError] = StreamError) -> None:
        self.error = message
        self._failure = kind
        self.state = StreamState.FAILED
        self._finished.set()
        self._question_changed.set()

    def _complete(self, report: dict[str, Any] | None) -> None:
        if len(self._pending) > self._sent - self.acked and not self._end_ever_sent:
            # Completed by someone else (another kiosk's end, an admin): nothing more can be
            # stored. Said in the log so the loss is never silent.
            logger.warning("stream_completed_elsewhere", interview_id=self.interview_id,
                           unsent_bytes=self.captured_end - self._sent)  # fmt: skip
        self.completed = report
        self.state = StreamState.COMPLETED
        self._spool.remove()
        self._finished.set()
        self._question_changed.set()

    async def _connection(self) -> None:
        if self._encrypted_only and not self.ws_url.startswith("wss://"):
            logger.warning("stream_plain_url_refused", interview_id=self.interview_id)
            raise InsecureTransport(PLAIN_STREAM_REFUSED)
        try:
            websocket = await connect(
                self.ws_url,
                ssl=self._tls if self.ws_url.startswith("wss:") else None,
                additional_headers={"Authorization": f"Bearer {self._token}"},
                open_timeout=5,
                ping_interval=10,
                ping_timeout=20,
                max_size=1 << 20,
                compression=None,
            )
        except ssl.SSLCertVerificationError as exc:
            # A reconnect would meet the same certificate: say so instead of retrying.
            logger.warning("stream_certificate_refused", interview_id=self.interview_id,
                           reason=refusal_reason(exc))  # fmt: skip
            raise CertificateNotTrusted(CERTIFICATE_NOT_TRUSTED) from None
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 409 and self._end_ever_sent:
                # We sent `end` and lost the link before `completed`: it did complete.
                self._complete(None)
                return
            if status in FATAL_STATUSES:
                raise StreamError(f"{FATAL_STATUSES[status]} (HTTP {status})") from None
            raise
        async with websocket:
            await websocket.send(msg.hello(self.sample_rate, self._kiosk_id, self._client_version))
            ready = await self._expect_ready(websocket)
            if ready.completed is not None:
                self._complete(ready.completed)
                return
            self._on_acked(ready.resume_offset)
            self._sent = self.acked
            self._set_question(ready.question)
            self.state = StreamState.STREAMING
            self._ready.set()
            sender = asyncio.create_task(self._send_loop(websocket))
            receiver = asyncio.create_task(self._receive_loop(websocket))
            try:
                # Whichever ends first ends the connection; its error (if any) is the reason.
                done, _ = await asyncio.wait(
                    {sender, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for task in (sender, receiver):
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await asyncio.gather(sender, receiver, return_exceptions=True)
            for task in done:
                task.result()

    async def _expect_ready(self, websocket: ClientConnection) -> msg.Ready:
        async with asyncio.timeout(10):
            while True:
                raw = await websocket.recv()
                if isinstance(raw, bytes):
                    continue
                message = msg.parse(raw)
                if isinstance(message, msg.Ready):
                    return message
                if isinstance(message, msg.ServerError):
                    raise StreamError(f"the server refused the stream: {message.message}")

    def _set_question(self, question: Question | None) -> None:
        previous = self.question
        self.question = question
        self._confirmed_by(question)
        owed = self._answer_done_for
        if owed is not None and (question is None or question.index > owed):
            self._answer_done_for = None  # the server already moved on: do not advance twice
            self._question_changed.set()
        elif previous != question:
            self._question_changed.set()

    def _confirmed_by(self, question: Question | None) -> None:
        """Drop the owed take messages that this question state shows the server has."""

        def arrived(owed: TakeAction) -> bool:
            if question is None or question.index > owed.index:
                return True  # the server moved past that question
            if question.index < owed.index:
                return False
            started = question.take or (question.takes_done[-1].take if question.takes_done else 0)
            ended = question.takes_done[-1].take if question.takes_done else 0
            if owed.kind == "answer_started":
                return started >= owed.take
            if owed.kind == "answer_done":
                return ended >= owed.take
            return False  # keep_take: only the next question shows it

        self._owed = [owed for owed in self._owed if not arrived(owed)]

    def _confirm(self, kind: str, index: int, take: int) -> None:
        self._owed = [
            owed for owed in self._owed if (owed.kind, owed.index, owed.take) != (kind, index, take)
        ]

    def _on_acked(self, offset: int) -> None:
        if offset <= self.acked:
            return
        if offset > self.captured_end:
            raise msg.MalformedMessage(
                f"the server acknowledged audio it was never sent ({offset} > {self.captured_end})"
            )
        del self._pending[: offset - self.acked]
        self.acked = offset
        self._sent = max(self._sent, offset)
        self._spool.acknowledge(offset)
        self._wake.set()  # room in the window again

    async def _send_loop(self, websocket: ClientConnection) -> None:
        # Per connection: what was said on an earlier one may never have arrived.
        answer_done_said_for: int | None = None
        end_said = False
        said: set[TakeAction] = set()
        flush = False  # a part frame waited a whole frame's time: send it as it is
        while True:
            self._wake.clear()
            filling = False
            while True:
                unsaid = [owed for owed in self._owed if owed not in said]
                due = unsaid[0] if unsaid else None
                if due is not None and self._sent >= due.offset:
                    # Its audio is all sent, none after it yet: the server sees it in place.
                    said.add(due)
                    await websocket.send(msg.take_message(due.kind, due.index, due.take,
                                                          due.offset))  # fmt: skip
                    continue
                stop = self.captured_end if due is None else min(due.offset, self.captured_end)
                start = self._sent - self.acked
                room = min(self._max_in_flight - start, stop - self._sent)
                if room <= 0:
                    break  # caught up, or waiting for an ack (it sets _wake)
                owing = due is not None or self._answer_done_for is not None
                if room < self._frame_bytes and not (owing or self._end_requested or flush):
                    # Less than a frame: the next captured block (or ack) wakes this. Only a
                    # frame still filling is flushed by time, not one held by the window.
                    filling = stop - self._sent < self._frame_bytes
                    break
                chunk = bytes(self._pending[start : start + min(MAX_FRAME_AUDIO, room)])
                await websocket.send(msg.frame(self._sent, chunk))
                self._sent += len(chunk)
            caught_up = self._sent == self.captured_end and all(o in said for o in self._owed)
            # answer_done marks the end of the answer's audio: only after all of it is sent.
            owed = self._answer_done_for
            if caught_up and owed is not None and answer_done_said_for != owed:
                answer_done_said_for = owed
                await websocket.send(msg.answer_done(owed))
            if caught_up and self._end_requested and not end_said and owed is None:
                end_said = True
                self._end_ever_sent = True
                await websocket.send(msg.end())
            flush = False
            if not filling:
                await self._wake.wait()
                continue
            try:
                async with asyncio.timeout(FRAME_SECONDS):
                    await self._wake.wait()
            except TimeoutError:
                flush = True  # no block came for a frame's time: the audio stopped

    async def _receive_loop(self, websocket: ClientConnection) -> None:
        async for raw in websocket:
            if isinstance(raw, bytes):
                continue
            message = msg.parse(raw)
            if isinstance(message, msg.Ack):
                self._on_acked(message.offset)
            elif isinstance(message, msg.Gap):
                self._sent = max(self.acked, min(message.expected_offset, self.captured_end))
                self._wake.set()
            elif isinstance(message, msg.Question):
                self._answer_done_for = None
                self._set_question(message)
                self._wake.set()  # an end may have waited for this answer_done
            elif isinstance(message, msg.QuestionsComplete):
                self._answer_done_for = None
                self.question = None
                self._owed.clear()
                self._question_changed.set()
                self._wake.set()
            elif isinstance(message, msg.AnswerStarted):
                self._confirm("answer_started", message.index, message.take)
            elif isinstance(message, msg.AnswerEnded):
                self._confirm("answer_done", message.index, message.take)
            elif isinstance(message, msg.Completed):
                self._complete(message.report)
                return
            elif isinstance(message, msg.ServerError):
                logger.warning("stream_error", code=message.code, message=message.message)
        # The server closed the socket: a protocol refusal is fatal, anything else reconnects.
        code = websocket.close_code
        if code in (1003, 1007, 1008, 1009):
            raise StreamError(f"the server closed the stream: {websocket.close_reason} ({code})")
        if code == 4000:
            raise StreamError("another connection took over this interview")
        if code == 4001:
            # Its token was revoked (the proctor ended the session): a reconnect gets 401.
            raise StreamError("the session was ended: its sign-in was revoked")
        raise ConnectionError(f"closed {code}")
