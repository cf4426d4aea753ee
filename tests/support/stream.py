"""Helpers for stream tests: an interview ready to stream, protocol frames, test audio."""

from __future__ import annotations

import hashlib
import json
import random
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.app.models.enums import Role
from support.api import Actor, Api

HEADER = struct.Struct(">Q")
HELLO = {
    "type": "hello",
    "protocol": 1,
    "audio": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1},
    "kiosk_id": "test-kiosk",
    "client_version": "test",
}


@dataclass
class StreamTarget:
    api: Api
    candidate: Actor
    interview_id: str
    ws_url: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.candidate.token}"}


def new_interview(api: Api, candidate: Actor | None = None) -> StreamTarget:
    candidate = candidate or api.make_user(Role.CANDIDATE)
    planned = api.request("POST", "/api/v1/interviews/plan", candidate, json={"role_type": "go"})
    assert planned.status_code == 201, planned.text
    body = planned.json()
    return StreamTarget(api, candidate, body["interview_id"], body["ws_url"])


def frame(offset: int, audio: bytes) -> bytes:
    return HEADER.pack(offset) + audio


def hello(**changes: Any) -> str:
    message = json.loads(json.dumps(HELLO))
    for key, value in changes.items():
        if key in ("sample_rate", "channels", "encoding"):
            message["audio"][key] = value
        else:
            message[key] = value
    return json.dumps(message)


def noise_pcm(seconds: float, rate: int = 16000, seed: int = 7) -> bytes:
    """Random int16 samples: any lost, duplicated or reordered byte changes the sha256."""
    return random.Random(seed).randbytes(int(seconds * rate) * 2)


def write_wav(path: Path, pcm: bytes, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
