"""Protocol v1.2 as the kiosk speaks it: building and parsing messages and frames, no I/O.

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
class Rules:
    """A question's limits as the server applies them (accommodation included)."""

    think_seconds: float | None  # None: unlimited
    answer_seconds: float | None
    takes: int
    accommodation: str | None = None


@dataclass(frozen=True)
class TakeSpan:
    take: int
    start_offset: int
    end_offset: int
    reason: str | None


@dataclass(frozen=True)
class Question:
    index: int
    total: int
    text: str
    # v1.2: the rules and where the question stands; None from a server without rules.
    rules: Rules | None = None
    phase: str = "thinking"  # thinking, answering or deciding
    asked_offset: int = 0
    take: int | None = None  # the take under way while answering
    answer_limit_offset: int | None = None
    takes_done: tuple[TakeSpan, ...] = ()


@dataclass(frozen=True)
class AnswerStarted:
    index: int
    take: int
    offset: int
    limit_offset: int | None
    reason: str


@dataclass(frozen=True)
class AnswerEnded:
    index: int
    take: int
    offset: int
    reason: str
    takes_left: int


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


ServerMessage = (
    Ready
    | Ack
    | Gap
    | Question
    | QuestionsComplete
    | Completed
    | ServerError
    | AnswerStarted
    | AnswerEnded
    | Unknown
)


# --- what the kiosk sends ------------------------------------------------------------------


def hello(sample_rate: int, kiosk_id: str, client_version: str) -> str:
    return json.dumps({
        "type": "hello", "protocol": PROTOCOL_VERSION,
        "audio": {"encoding": "pcm_s16le", "sample_rate": sample_rate, "channels": 1},
        "kiosk_id": kiosk_id, "client_version": client_version,
        # v1.2: this client keeps the interview's clock, so the server runs its limits.
        "features": ["rules"],
    })  # fmt: skip


def answer_done(index: int) -> str:
    """v1.1: the index names the answer this ends, so a repeat after a reconnect is harmless."""
    return json.dumps({"type": "answer_done", "index": index})


def take_message(kind: str, index: int, take: int, offset: int) -> str:
    """v1.2 ``answer_started``, ``answer_done`` or ``keep_take``, at the stream offset where
    the candidate acted: sent after the audio before it and before any audio after it."""
    return json.dumps({"type": kind, "index": index, "take": take, "offset": offset})


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
    if kind == "answer_started":
        return AnswerStarted(
            _int(message, "index"), _int(message, "take"), _int(message, "offset"),
            _optional_int(message, "limit_offset"), str(message.get("reason", "")),
        )  # fmt: skip
    if kind == "answer_ended":
        return AnswerEnded(
            _int(message, "index"), _int(message, "take"), _int(message, "offset"),
            str(message.get("reason", "")), _int(message, "takes_left"),
        )  # fmt: skip
    return Unknown(kind)


def _int(message: dict[str, Any], field: str) -> int:
    value = message.get(field)
    if type(value) is not int or value < 0:
        raise MalformedMessage(
            f"the server's {message.get('type')!r} message has no valid {field!r}: {value!r}"
        )
    return value


def _optional_int(message: dict[str, Any], field: str) -> int | None:
    return None if message.get(field) is None else _int(message, field)


def _seconds(rules: dict[str, Any], field: str) -> float | None:
    value = rules.get(field)
    if value is None:
        return None
    if type(value) not in (int, float) or value < 0:
        raise MalformedMessage(f"the server's question rules have no valid {field!r}: {value!r}")
    return float(value)


def _question(value: object, where: str) -> Question:
    if not isinstance(value, dict):
        raise MalformedMessage(f"the server's {where} is not an object: {value!r}")
    text = value.get("text")
    if not isinstance(text, str):
        raise MalformedMessage(f"the server's {where} has no text")
    index, total = _int(value, "index"), _int(value, "total")
    rules = value.get("rules")
    if not isinstance(rules, dict):  # a v1.1 server: no rules, no timers
        return Question(index, total, text)
    phase = value.get("phase")
    if phase not in ("thinking", "answering", "deciding"):
        raise MalformedMessage(f"the server's {where} has no valid phase: {phase!r}")
    takes_done = value.get("takes_done") or []
    if not isinstance(takes_done, list) or not all(isinstance(t, dict) for t in takes_done):
        raise MalformedMessage(f"the server's {where} has no valid takes_done")
    return Question(
        index,
        total,
        text,
        rules=Rules(
            _seconds(rules, "think_seconds"),
            _seconds(rules, "answer_seconds"),
            _int(rules, "takes") or 1,
            rules.get("accommodation") or None,
        ),
        phase=phase,
        asked_offset=_optional_int(value, "asked_offset") or 0,
        take=_optional_int(value, "take"),
        answer_limit_offset=_optional_int(value, "answer_limit_offset"),
        takes_done=tuple(
            TakeSpan(
                _int(t, "take"), _int(t, "start_offset"), _int(t, "end_offset"), t.get("reason")
            )
            for t in takes_done
        ),
    )
