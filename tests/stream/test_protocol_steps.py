"""Every step of protocol v1.1 survives a drop at the exact moment it passes (issue 13).

A proxy that reads the WebSocket frames holds back one message, the first of its type in one
direction, and either cuts the link or SIGKILLs the backend (then starts it again on the same
data). Six steps: the client's ``hello``, ``answer_done`` and ``end``, and the server's
``ready``, ``question`` and ``completed``. In each case the real ``AudioStreamer`` must go on
or complete within 15 s, every question must be asked once and in order (the server's answer
boundaries fall exactly where the audio fed for each answer ends), and the recording must be
byte-identical to what was fed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.errors import StreamError
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer, StreamState
from support.api import Api
from support.backend_process import BackendProcess
from support.stream import StreamTarget, new_interview, noise_pcm, sha256
from support.ws_trap import DOWN, UP, WebSocketTrapProxy

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]
BLOCK = 640  # 20 ms of 16 kHz mono int16
STEP_SECONDS = 15  # the bound: each step goes on or completes within this

STEPS = [
    (UP, "hello"),
    (UP, "answer_done"),
    (UP, "end"),
    (DOWN, "ready"),
    (DOWN, "question"),
    (DOWN, "completed"),
]
STEP_IDS = [f"{'client' if d == UP else 'server'}-{kind}" for d, kind in STEPS]


async def _streamer_through(
    api: Api, backend: BackendProcess, proxy: WebSocketTrapProxy, tmp_path: Path
) -> tuple[StreamTarget, AudioStreamer]:
    """A new interview, and the kiosk's streamer for it pointed through the proxy."""
    target = await asyncio.to_thread(new_interview, api)
    ws_url = target.ws_url.replace(f":{backend.port}/", f":{proxy.port}/")
    spool = Spool(tmp_path / "spool", SpoolInfo(target.interview_id, ws_url, 16000))
    return target, AudioStreamer(spool, target.candidate.token, "kiosk-1", "test")


async def _interview_through(
    backend: BackendProcess, proxy: WebSocketTrapProxy, tmp_path: Path
) -> tuple[list[int | None], list[bytes], dict[str, Any] | None, str]:
    """Answer every question with its own audio, then end; what the kiosk saw and fed."""
    api = Api(backend)  # type: ignore[arg-type]  # a process, not a BackgroundServer
    try:
        target, streamer = await _streamer_through(api, backend, proxy, tmp_path)
        runner = asyncio.create_task(streamer.run())
        try:
            await asyncio.wait_for(streamer.wait_ready(), STEP_SECONDS)
            assert streamer.question is not None
            seen: list[int | None] = [streamer.question.index]
            answers = []
            for number in range(streamer.question.total):
                answer = noise_pcm(0.4 + 0.1 * number, seed=number)  # each a different length
                answers.append(answer)
                for start in range(0, len(answer), BLOCK):
                    streamer.feed(answer[start : start + BLOCK])
                following = await asyncio.wait_for(streamer.answer_done(), STEP_SECONDS)
                seen.append(following.index if following else None)
            completed = await asyncio.wait_for(streamer.end(), STEP_SECONDS)
            await asyncio.wait_for(runner, STEP_SECONDS)
        finally:
            runner.cancel()
        assert streamer.state is StreamState.COMPLETED
        assert not list((tmp_path / "spool").glob("*.pcm"))  # the journal is gone once complete
        detail = api.request("GET", f"/api/v1/interviews/{target.interview_id}", target.candidate)
        assert detail.status_code == 200, detail.text
        _assert_answers_where_fed(detail.json(), answers)
        return seen, answers, completed, target.interview_id
    finally:
        api.http.close()


def _assert_answers_where_fed(interview: dict[str, Any], answers: list[bytes]) -> None:
    """No question skipped or asked twice: answer i spans exactly the audio fed for it."""
    assert interview["status"] == "completed"
    offset = 0
    for question, answer in zip(interview["questions"], answers, strict=True):
        assert question["answer_start_seconds"] == pytest.approx(offset / 32000)
        offset += len(answer)
        assert question["answer_end_seconds"] == pytest.approx(offset / 32000)


def _assert_recording(
    backend: BackendProcess, interview_id: str, answers: list[bytes], completed: Any
) -> None:
    audio = b"".join(answers)
    assert backend.recording(interview_id).read_bytes() == audio
    if completed is not None:  # None only when the drop ate `completed` itself
        assert completed["sha256"] == sha256(audio)
        assert completed["audio_bytes"] == len(audio)


@pytest.mark.parametrize(("direction", "message_type"), STEPS, ids=STEP_IDS)
async def test_a_link_cut_as_a_step_passes_loses_and_repeats_nothing(
    backend: BackendProcess, tmp_path: Path, direction: str, message_type: str
) -> None:
    proxy = await WebSocketTrapProxy("127.0.0.1", backend.port).start()

    async def cut(_: object) -> None:
        proxy.cut()

    trap = proxy.arm(direction, message_type, cut)
    try:
        seen, answers, completed, interview_id = await _interview_through(backend, proxy, tmp_path)
    finally:
        await proxy.stop()
    assert trap.sprung.is_set(), f"no {message_type} passed {direction}"
    assert seen == [*range(len(answers)), None]
    _assert_recording(backend, interview_id, answers, completed)
    if message_type != "completed":
        assert completed is not None


@pytest.mark.parametrize(("direction", "message_type"), STEPS, ids=STEP_IDS)
async def test_the_backend_killed_as_a_step_passes_loses_and_repeats_nothing(
    backend: BackendProcess, tmp_path: Path, direction: str, message_type: str
) -> None:
    proxy = await WebSocketTrapProxy("127.0.0.1", backend.port).start()
    restarts: list[asyncio.Task[BackendProcess]] = []

    async def kill_and_restart(_: object) -> None:
        await asyncio.to_thread(backend.kill)
        proxy.cut()
        restarts.append(asyncio.create_task(asyncio.to_thread(backend.start)))

    trap = proxy.arm(direction, message_type, kill_and_restart)
    try:
        seen, answers, completed, interview_id = await _interview_through(backend, proxy, tmp_path)
    finally:
        await proxy.stop()
        await asyncio.gather(*restarts)
    assert trap.sprung.is_set(), f"no {message_type} passed {direction}"
    assert restarts, "the backend was never killed"
    assert seen == [*range(len(answers)), None]
    _assert_recording(backend, interview_id, answers, completed)


def _newer(message: dict[str, Any]) -> str:
    """The message as a newer server might send it: fields this client has never heard of."""
    newer = {**message, "server_build": "2.0", "hints": {"think_seconds": 30}}
    if isinstance(newer.get("question"), dict):
        newer["question"] = {**newer["question"], "think_seconds": 30, "takes": 2}
    if newer["type"] == "question":
        newer.update(think_seconds=30, takes=2)
    return json.dumps(newer)


@pytest.mark.parametrize("message_type", ["ready", "question"])
async def test_fields_this_client_does_not_know_are_ignored(
    backend: BackendProcess, tmp_path: Path, message_type: str
) -> None:
    proxy = await WebSocketTrapProxy("127.0.0.1", backend.port).start()

    async def newer(message: dict[str, Any]) -> str:
        return _newer(message)

    trap = proxy.arm(DOWN, message_type, newer)
    try:
        seen, answers, completed, interview_id = await _interview_through(backend, proxy, tmp_path)
    finally:
        await proxy.stop()
    assert trap.sprung.is_set()
    assert seen == [*range(len(answers)), None]
    _assert_recording(backend, interview_id, answers, completed)


MALFORMED = {
    "ready-not-json": ("ready", lambda m: "{ready, resume_offset: 0", "not JSON"),
    "ready-without-resume-offset": (
        "ready",
        lambda m: json.dumps({k: v for k, v in m.items() if k != "resume_offset"}),
        "no valid 'resume_offset'",
    ),
    "ready-question-without-text": (
        "ready",
        lambda m: json.dumps({**m, "question": {"index": 0, "total": 5}}),
        "has no text",
    ),
    "question-with-a-text-index": (
        "question",
        lambda m: json.dumps({**m, "index": "one"}),
        "no valid 'index'",
    ),
    "ack-past-what-was-sent": (
        "ack",
        lambda m: json.dumps({**m, "offset": 10**9}),
        "acknowledged audio it was never sent",
    ),
    "no-type": ("question", lambda m: json.dumps({"index": 1}), "without a type"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_server_message_fails_the_stream_with_a_clear_error(
    backend: BackendProcess, tmp_path: Path, case: str
) -> None:
    message_type, rewrite, says = MALFORMED[case]
    proxy = await WebSocketTrapProxy("127.0.0.1", backend.port).start()

    async def malformed(message: dict[str, Any]) -> str:
        return str(rewrite(message))

    proxy.arm(DOWN, message_type, malformed)
    api = Api(backend)  # type: ignore[arg-type]  # a process, not a BackgroundServer
    try:
        _, streamer = await _streamer_through(api, backend, proxy, tmp_path)
        runner = asyncio.create_task(streamer.run())
        if message_type != "ready":
            await asyncio.wait_for(streamer.wait_ready(), STEP_SECONDS)
        streamer.feed(noise_pcm(0.5))
        # Whatever the candidate does next, the stream's failure reaches it: never a wait.
        waiter = asyncio.create_task(
            streamer.wait_ready() if message_type == "ready" else streamer.answer_done()
        )
        with pytest.raises(StreamError, match=says):
            await asyncio.wait_for(runner, STEP_SECONDS)
        with pytest.raises(StreamError, match=says):
            await asyncio.wait_for(waiter, STEP_SECONDS)
        with pytest.raises(StreamError, match=says):
            await asyncio.wait_for(streamer.end(), STEP_SECONDS)
        assert streamer.state is StreamState.FAILED
        assert list((tmp_path / "spool").glob("*.pcm"))  # the audio is kept for a resume
    finally:
        await proxy.stop()
        api.http.close()
