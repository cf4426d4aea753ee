"""Protocol v1.1 as the kiosk speaks it: building and parsing messages and frames, no I/O.

Parsing is strict about what the kiosk relies on (a missing or mistyped field is a
``MalformedMessage``, never a silent default) and lenient about the rest: fields and message
types this client does not know are ignored, so a newer server can add them (docs/protocol.md,
section 2).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from kiosk.core.errors import StreamError

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">Q")  # a binary frame: the stream offset of its first audio byte


class MalformedMessage(StreamError):
    """The server sent something this client cannot read (not a retryable drop)."""


@dataclass(frozen=True)
class Question:
    index: int
    total: int
    text: str


@dataclass(frozen=True)
class Ready:
    resume_offset: int
    question: Question | None
    # v1.1: a server that finds the interview already completed says so in ``ready``.
    completed: dict[str, Any] | None = None


@dataclass(frozen=True)
class Ack:
    offset: int


@dataclass(frozen=True)
class Gap:
    expected_offset: int


@dataclass(frozen=True)
class QuestionsComplete:
    pass


@dataclass(frozen=True)
class Completed:
    report: dict[str, Any]


@dataclass(frozen=True)
class ServerError:
    code: str
    message: str


@dataclass(frozen=True)
class Unknown:
    kind: str


ServerMessage = Ready | Ack | Gap | Question | QuestionsComplete | Completed | ServerError | Unknown


# --- what the kiosk sends ------------------------------------------------------------------


def hello(sample_rate: int, kiosk_id: str, client_version: str) -> str:
    return json.dumps({
        "type": "hello", "protocol": PROTOCOL_VERSION,
        "audio": {"encoding": "pcm_s16le", "sample_rate": sample_rate, "channels": 1},
        "kiosk_id": kiosk_id, "client_version": client_version,
    })  # fmt: skip


def answer_done(index: int) -> str:
    """v1.1: the index names the answer this ends, so a repeat after a reconnect is harmless."""
    return json.dumps({"type": "answer_done", "index": index})


def end() -> str:
    return json.dumps({"type": "end"})


def frame(offset: int, audio: bytes) -> bytes:
    return HEADER.pack(offset) + audio


# --- what the server sends -----------------------------------------------------------------


def parse(text: str) -> ServerMessage:
    """One text frame from the server; ``MalformedMessage`` if it cannot be read."""
    try:
        message = json.loads(text)
    except ValueError:
        problem = f"the server sent a message that is not JSON: {text[:80]!r}"
        raise MalformedMessage(problem) from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise MalformedMessage(f"the server sent a message without a type: {text[:80]!r}")
    kind = message["type"]
    if kind == "ready":
        question = message.get("question")
        completed = message.get("completed")
        return Ready(
            resume_offset=_int(message, "resume_offset"),
            question=None if question is None else _question(question, "ready.question"),
            completed=dict(completed) if isinstance(completed, dict) else None,
        )
    if kind == "ack":
        return Ack(_int(message, "offset"))
    if kind == "question":
        return _question(message, "question")
    if kind == "questions_complete":
        return QuestionsComplete()
    if kind == "completed":
        return Completed(dict(message))
    if kind == "error":
        code = str(message.get("code", ""))
        if code == "gap":
            return Gap(_int(message, "expected_offset"))
        return ServerError(code, str(message.get("message", "")))
    if kind == "gap":
        return Gap(_int(message, "expected_offset"))
    return Unknown(kind)


def _int(message: dict[str, Any], field: str) -> int:
    value = message.get(field)
    if type(value) is not int or value < 0:
        raise MalformedMessage(
            f"the server's {message.get('type')!r} message has no valid {field!r}: {value!r}"
        )
    return value


def _question(value: object, where: str) -> Question:
    if not isinstance(value, dict):
        raise MalformedMessage(f"the server's {where} is not an object: {value!r}")
    text = value.get("text")
    if not isinstance(text, str):
        raise MalformedMessage(f"the server's {where} has no text")
    return Question(_int(value, "index"), _int(value, "total"), text)
