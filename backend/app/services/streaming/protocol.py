"""Protocol v1 messages and frame parsing, with no I/O (docs/protocol.md)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = 1
SAMPLE_RATES = frozenset({16000, 24000, 48000})
ENCODING = "pcm_s16le"
SAMPLE_WIDTH = 2
MAX_AUDIO_BYTES = 65536
HEADER = struct.Struct(">Q")
HELLO_TIMEOUT_SECONDS = 10.0

# Close codes.
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN = 1013
CLOSE_SUPERSEDED = 4000
# The token that opened the stream was revoked (a proctor ended the seat's session).
CLOSE_REVOKED = 4001


class ProtocolViolation(Exception):
    """The peer broke the protocol: send ``message`` (if any) and close with ``close_code``."""

    def __init__(self, close_code: int, message: dict[str, Any] | None, reason: str) -> None:
        super().__init__(reason)
        self.close_code = close_code
        self.message = message
        self.reason = reason


def error(code: str, message: str, **fields: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **fields}


@dataclass(frozen=True)
class AudioFormat:
    encoding: str
    sample_rate: int
    channels: int

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.channels * SAMPLE_WIDTH


def parse_text(text: str) -> dict[str, Any] | None:
    """A JSON object with a string ``type``, or None for anything else (-> bad_message)."""
    try:
        message = json.loads(text)
    except ValueError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return None
    return message


def parse_hello(message: dict[str, Any]) -> AudioFormat:
    if message.get("type") != "hello":
        raise ProtocolViolation(
            CLOSE_POLICY, error("bad_message", "the first message must be hello"), "no hello"
        )
    if message.get("protocol") != PROTOCOL_VERSION:
        raise ProtocolViolation(
            CLOSE_POLICY,
            error("bad_message", f"protocol must be {PROTOCOL_VERSION}"),
            "bad protocol",
        )
    audio = message.get("audio")
    if not isinstance(audio, dict):
        raise ProtocolViolation(
            CLOSE_UNSUPPORTED, error("unsupported_audio", "hello.audio is missing"), "no audio"
        )
    encoding, rate, channels = (
        audio.get("encoding"),
        audio.get("sample_rate"),
        audio.get("channels"),
    )
    if (
        encoding != ENCODING
        or type(rate) is not int
        or rate not in SAMPLE_RATES
        or type(channels) is not int
        or channels != 1
    ):
        raise ProtocolViolation(
            CLOSE_UNSUPPORTED,
            error(
                "unsupported_audio",
                f"audio must be {ENCODING}, mono, at one of {sorted(SAMPLE_RATES)} Hz; "
                f"got {encoding!r} at {rate!r} Hz with {channels!r} channels",
            ),
            "unsupported audio",
        )
    return AudioFormat(encoding, rate, channels)


def keeps_rules(hello: dict[str, Any]) -> bool:
    """v1.2: a client whose hello lists the feature "rules" keeps the interview's clock."""
    features = hello.get("features")
    return isinstance(features, list) and "rules" in features


def parse_frame(frame: bytes, channels: int) -> tuple[int, bytes]:
    """Split a binary frame into (offset, audio), or raise the violation it commits."""
    if len(frame) < HEADER.size + 1:
        raise ProtocolViolation(
            CLOSE_POLICY, error("bad_frame", "a frame is an 8-byte offset then audio"), "short"
        )
    audio = frame[HEADER.size :]
    if len(audio) > MAX_AUDIO_BYTES:
        raise ProtocolViolation(
            CLOSE_TOO_BIG,
            error("bad_frame", f"at most {MAX_AUDIO_BYTES} audio bytes per frame"),
            "too big",
        )
    if len(audio) % (SAMPLE_WIDTH * channels):
        raise ProtocolViolation(
            CLOSE_POLICY, error("bad_frame", "audio must be a whole number of samples"), "torn"
        )
    (offset,) = HEADER.unpack_from(frame)
    return offset, audio


def pack_frame(offset: int, audio: bytes) -> bytes:
    return HEADER.pack(offset) + audio


@dataclass(frozen=True)
class TakeMessage:
    """``answer_started``, ``answer_done`` or ``keep_take`` (v1.2), read and type-checked.

    ``take`` is None only in a v1/v1.1 ``answer_done``; ``offset`` (the stream position the
    candidate acted at) is None when the client did not say, and then means "here".
    """

    kind: str
    index: int | None
    take: int | None
    offset: int | None


TAKE_MESSAGES = frozenset({"answer_started", "answer_done", "keep_take"})


class BadMessage(Exception):
    """A message this server cannot act on: answered with ``bad_message``, connection kept."""


def _optional_count(message: dict[str, Any], field: str, least: int) -> int | None:
    value = message.get(field)
    if value is None:
        return None
    if type(value) is not int or value < least:
        raise BadMessage(f"{message['type']}.{field} must be an integer >= {least}")
    return value


def parse_take_message(message: dict[str, Any]) -> TakeMessage:
    kind = message["type"]
    index = _optional_count(message, "index", 0)
    take = _optional_count(message, "take", 1)
    offset = _optional_count(message, "offset", 0)
    if kind != "answer_done" and (index is None or take is None):
        raise BadMessage(f"{kind} needs index and take")
    if kind == "answer_done" and take is not None and index is None:
        raise BadMessage("answer_done with a take needs its index")
    if offset is not None and offset % SAMPLE_WIDTH:
        raise BadMessage(f"{kind}.offset must fall between samples (an even byte offset)")
    return TakeMessage(kind, index, take, offset)
