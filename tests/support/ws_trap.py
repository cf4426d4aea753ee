"""A TCP proxy that reads the WebSocket frames passing through it, so a test can break the
link at an exact protocol step: the first time a text message of a chosen ``type`` passes in
a chosen direction, the proxy holds it back (the far side never sees it) and runs the test's
action instead: cut the link, or kill the backend.

It parses RFC 6455 framing only as far as it needs to (no extensions: the kiosk and our
backend negotiate no compression); everything else is forwarded byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

UP = "client->server"
DOWN = "server->client"


@dataclass
class Trap:
    direction: str
    message_type: str
    # What happens instead of forwarding: returns None (the message is lost) or the text to
    # send in its place (server-to-client only: a server's frames are not masked).
    action: Callable[[dict[str, Any]], Awaitable[str | None]]
    sprung: asyncio.Event = field(default_factory=asyncio.Event)


class WebSocketTrapProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.trap: Trap | None = None
        self.seen: list[tuple[str, str]] = []  # (direction, type) of every text message passed
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> WebSocketTrapProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def arm(
        self,
        direction: str,
        message_type: str,
        action: Callable[[dict[str, Any]], Awaitable[str | None]],
    ) -> Trap:
        self.trap = Trap(direction, message_type, action)
        return self.trap

    def cut(self) -> None:
        """Abort every open connection (RST), as a pulled cable would."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()  # the backend is down: the kiosk's connect fails at once
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, UP), self._pipe(up_reader, writer, DOWN)
            )
        finally:
            self._writers -= {writer, up_writer}

    async def _pipe(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, direction: str
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ConnectionError):
            # The HTTP upgrade passes as it is; frames follow it.
            head = await src.readuntil(b"\r\n\r\n")
            dst.write(head)
            await dst.drain()
            if direction == DOWN and not head.startswith(b"HTTP/1.1 101"):
                # A refused handshake (401, 409...) is an HTTP answer with a body: no frames.
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            while True:
                raw, message = await _read_frame(src)
                message_type = message.get("type") if message else None
                if message is not None and isinstance(message_type, str):
                    self.seen.append((direction, message_type))
                    trap = self.trap
                    if (
                        trap is not None
                        and not trap.sprung.is_set()
                        and (trap.direction, trap.message_type) == (direction, message_type)
                    ):
                        trap.sprung.set()
                        # The frame is held back: the far side never sees it.
                        replacement = await trap.action(message)
                        if replacement is None:
                            continue
                        raw = _text_frame(replacement)
                dst.write(raw)
                await dst.drain()
        with contextlib.suppress(OSError):
            dst.close()


def _text_frame(text: str) -> bytes:
    """An unmasked, unfragmented text frame (as a server sends)."""
    payload = text.encode()
    if len(payload) < 126:
        return bytes([0x81, len(payload)]) + payload
    if len(payload) < 1 << 16:
        return bytes([0x81, 126]) + struct.pack(">H", len(payload)) + payload
    return bytes([0x81, 127]) + struct.pack(">Q", len(payload)) + payload


async def _read_frame(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, Any] | None]:
    """One frame's bytes, and the JSON object it carries (text frames only)."""
    head = await reader.readexactly(2)
    opcode, masked, length = head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
    extended = b""
    if length == 126:
        extended = await reader.readexactly(2)
        (length,) = struct.unpack(">H", extended)
    elif length == 127:
        extended = await reader.readexactly(8)
        (length,) = struct.unpack(">Q", extended)
    mask = await reader.readexactly(4) if masked else b""
    payload = await reader.readexactly(length)
    raw = head + extended + mask + payload
    if opcode != 0x1 or not head[0] & 0x80:
        return raw, None
    if mask:
        payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    try:
        message = json.loads(payload)
    except ValueError:
        return raw, None
    return raw, message if isinstance(message, dict) else None
