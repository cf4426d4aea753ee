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


def ruled_interview(
    api: Api,
    think_seconds: int | None = 5,
    answer_seconds: int = 15,
    takes: int = 2,
    accommodation: str | None = None,
    candidate_name: str | None = None,
    **posting: Any,
) -> StreamTarget:
    """An interview for a posting with these rules, started with a proctor-launched session
    token (granting ``accommodation``, if any), ready to stream."""
    admin = api.make_user(Role.ADMIN)
    created = api.request("POST", "/api/v1/job-postings", admin, json={
        "title": "Support Engineer", "company": "Contoso", "tech_stack": "go",
        "think_seconds": think_seconds, "answer_seconds": answer_seconds, "takes": takes,
        **posting,
    })  # fmt: skip
    assert created.status_code == 201, created.text
    candidate = api.make_user(Role.CANDIDATE, candidate_name)
    applied = api.request(
        "POST", "/api/v1/applications", candidate, json={"job_posting_id": created.json()["id"]}
    )
    assert applied.status_code == 201, applied.text
    proctor = api.make_user(Role.PROCTOR)
    launched = api.request("POST", "/api/v1/proctor/sessions", proctor, json={
        "candidate_email": candidate.email, "kiosk_id": "seat-07", "accommodation": accommodation,
    })  # fmt: skip
    assert launched.status_code == 201, launched.text
    candidate.token = launched.json()["session_token"]
    started = api.request(
        "POST", "/api/v1/interviews/start", candidate,
        json={"application_id": applied.json()["id"]},
    )  # fmt: skip
    assert started.status_code == 201, started.text
    body = started.json()
    return StreamTarget(api, candidate, body["id"], body["ws_url"])
