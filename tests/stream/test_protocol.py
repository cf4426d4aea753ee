"""Protocol v1.1 against a real server: every handshake refusal, close code and error code,
resends, gaps, questions, completion, supersede, and isolation between interviews."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from backend.app.models.enums import Role
from support.api import Api
from support.stream import StreamTarget, frame, hello, new_interview, noise_pcm, sha256

pytestmark = pytest.mark.asyncio


async def open_stream(target: StreamTarget, **kwargs: Any) -> ClientConnection:
    return await connect(target.ws_url, additional_headers=target.headers, **kwargs)


async def receive_json(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))


async def receive_until(ws: ClientConnection, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            message = await receive_json(ws)
            if message["type"] == kind:
                return message


async def closed_with(ws: ClientConnection, timeout: float = 15.0) -> int | None:
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    return ws.close_code


async def refusal(url: str, headers: dict[str, str] | None) -> int:
    with pytest.raises(InvalidStatus) as caught:
        await connect(url, additional_headers=headers or {})
    return caught.value.response.status_code


@pytest.fixture
def target(api: Api) -> StreamTarget:
    return new_interview(api)


# --- the handshake ---------------------------------------------------------------------------


async def test_handshake_refusals_are_http_statuses(api: Api, target: StreamTarget) -> None:
    assert await refusal(target.ws_url, None) == 401
    assert await refusal(target.ws_url, {"Authorization": "Bearer forged"}) == 401
    stranger = api.make_user(Role.CANDIDATE)
    assert await refusal(target.ws_url, {"Authorization": f"Bearer {stranger.token}"}) == 403
    unknown = target.ws_url.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    assert await refusal(unknown, target.headers) == 404
    assert await refusal(target.ws_url.rsplit("/", 1)[0] + "/not-a-uuid", target.headers) == 404


async def test_completed_interview_refuses_with_409(target: StreamTarget) -> None:
    async with await open_stream(target) as ws:
        await ws.send(hello())
        await receive_until(ws, "ready")
        await ws.send(json.dumps({"type": "end"}))
        await receive_until(ws, "completed")
    assert await refusal(target.ws_url, target.headers) == 409


# --- hello -----------------------------------------------------------------------------------


async def test_ready_reports_resume_offset_and_first_question(target: StreamTarget) -> None:
    async with await open_stream(target) as ws:
        await ws.send(hello())
        ready = await receive_json(ws)
    assert ready["type"] == "ready"
    assert ready["interview_id"] == target.interview_id
    assert ready["resume_offset"] == 0
    assert ready["question"]["index"] == 0 and ready["question"]["total"] == 5
    detail = target.api.request(
        "GET", f"/api/v1/interviews/{target.interview_id}", target.candidate
    )
    assert detail.json()["status"] == "in_progress"
    assert detail.json()["started_at"] is not None


@pytest.mark.parametrize(
    "changes",
    [{"sample_rate": 44100}, {"channels": 2}, {"encoding": "opus"}, {"sample_rate": "16000"}],
)
async def test_unsupported_audio_is_refused_with_1003(
    target: StreamTarget, changes: dict[str, Any]
) -> None:
    async with await open_stream(target) as ws:
        await ws.send(hello(**changes))
        message = await receive_json(ws)
        assert message["type"] == "error" and message["code"] == "unsupported_audio"
        assert await closed_with(ws) == 1003


async def test_a_reconnect_must_keep_the_first_format(target: StreamTarget) -> None:
    async with await open_stream(target) as ws:
        await ws.send(hello(sample_rate=16000))
        await receive_until(ws, "ready")
    async with await open_stream(target) as ws:
        await ws.send(hello(sample_rate=24000))
        message = await receive_json(ws)
        assert message["code"] == "format_mismatch"
        assert await closed_with(ws) == 1008


async def test_audio_before_hello_closes_1008(target: StreamTarget) -> None:
    async with await open_stream(target) as ws:
        await ws.send(frame(0, b"\x00\x00"))
        assert await closed_with(ws) == 1008


async def test_no_hello_within_ten_seconds_closes_1008(target: StreamTarget) -> None:
    async with await open_stream(target, ping_interval=None) as ws:
        assert await closed_with(ws, timeout=15) == 1008


async def test_bad_messages_before_and_after_hello_keep_the_connection(
    target: StreamTarget,
) -> None:
    async with await open_stream(target) as ws:
        await ws.send("{not json")
        assert (await receive_json(ws))["code"] == "bad_message"
        await ws.send(json.dumps({"type": "dance"}))
        assert (await receive_json(ws))["code"] == "bad_message"
        await ws.send(hello())
        await receive_until(ws, "ready")
        await ws.send(json.dumps([1, 2]))
        assert (await receive_until(ws, "error"))["code"] == "bad_message"
        await ws.send(frame(0, b"\x01\x00\x02\x00"))
        assert (await receive_until(ws, "ack"))["offset"] == 4


# --- frames ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "close_code"),
    [
        (b"\x00" * 8, 1008),  # no audio
        (b"\x00\x01", 1008),  # shorter than the offset
        (frame(0, b"\x00\x00\x00"), 1008),  # half a sample
        (frame(0, b"\x00" * 65538), 1009),  # over 65536 bytes of audio
    ],
    ids=["empty", "short", "torn-sample", "too-big"],
)
async def test_bad_frames_close_the_connection(
    target: StreamTarget, payload: bytes, close_code: int
) -> None:
    async with await open_stream(target) as ws:
        await ws.send(hello())
        await receive_until(ws, "ready")
        await ws.send(payload)
        message = await receive_json(ws)
        assert message["type"] == "error" and message["code"] == "bad_frame"
        assert await closed_with(ws) == close_code


async def test_resends_are_ignored_and_gaps_are_reported(target: StreamTarget) -> None:
    audio = noise_pcm(1.0)
    async with await open_stream(target) as ws:
        await ws.send(hello())
        await receive_until(ws, "ready")
        await ws.send(frame(0, audio[:8000]))
        await ws.send(frame(4000, audio[4000:12000]))  # half a resend, half new
        await ws.send(frame(0, audio[:2000]))  # a pure resend
        await ws.send(frame(20000, audio[20000:22000]))  # a gap: nothing stored
        gap = await receive_until(ws, "error")
        assert gap == {"type": "error", "code": "gap", "message": gap["message"],
                       "expected_offset": 12000}  # fmt: skip
        await ws.send(frame(12000, audio[12000:]))
        await ws.send(json.dumps({"type": "end"}))
        completed = await receive_until(ws, "completed")
        assert await closed_with(ws) == 1000
    assert completed["audio_bytes"] == len(audio)
    assert completed["sha256"] == sha256(audio)
    assert completed["duration_seconds"] == pytest.approx(1.0)


async def test_acks_arrive_while_audio_flows(target: StreamTarget) -> None:
    audio = noise_pcm(2.0)
    acks: list[int] = []
    async with await open_stream(target) as ws:
        await ws.send(hello())
        await receive_until(ws, "ready")
        for offset in range(0, len(audio), 640):  # 20 ms frames, 5x real time
            await ws.send(frame(offset, audio[offset : offset + 640]))
            await asyncio.sleep(0.004)
        async with asyncio.timeout(5):
            while not acks or acks[-1] < len(audio):
                message = await receive_json(ws)
                if message["type"] == "ack":
                    acks.append(message["offset"])
    # Event-driven: acks come while the audio flows, not only at its end, never go back,
    # and each is at a frame's end (what was durable when its fsync returned).
    assert len(acks) >= 10
    assert acks == sorted(set(acks))
    assert all(ack % 640 == 0 for ack in acks)


async def test_frames_that_arrive_during_an_fsync_ride_the_next_one(
    target: StreamTarget,
) -> None:
    audio = noise_pcm(4.0)
    acks: list[int] = []
    async with await open_stream(target) as ws:
        await ws.send(hello())
        await receive_until(ws, "ready")
        for offset in range(0, len(audio), 640):  # 200 frames at once
            await ws.send(frame(offset, audio[offset : offset + 640]))
        async with asyncio.timeout(5):
            while not acks or acks[-1] < len(audio):
                message = await receive_json(ws)
                if message["type"] == "ack":
                    acks.append(message["offset"])
    print(f"200 frames sent back to back, {len(acks)} acks")
    assert len(acks) < 100  # group commit: many frames per fsync
    assert acks == sorted(set(acks))


# --- questions and the end -------------------------------------------------------------------


async def test_questions_advance_then_complete_and_recording_is_served(
    target: StreamTarget,
) -> None:
    audio = noise_pcm(5.0)
    seen: list[int] = []
    async with await open_stream(target) as ws:
        await ws.send(hello())
        ready = await receive_until(ws, "ready")
        seen.append(ready["question"]["index"])
        for index in range(5):
            chunk = audio[index * 32000 : (index + 1) * 32000]
            await ws.send(frame(index * 32000, chunk))
            await ws.send(json.dumps({"type": "answer_done"}))
            ack = await receive_until(ws, "ack")
            assert ack["offset"] == (index + 1) * 32000  # at once after answer_done
            following = await receive_json(ws)
            if index < 4:
                assert following["type"] == "question"
                seen.append(following["index"])
            else:
                assert following == {"type": "questions_complete"}
        await ws.send(json.dumps({"type": "end"}))
        assert (await receive_json(ws))["type"] == "ack"
        completed = await receive_json(ws)
    assert seen == [0, 1, 2, 3, 4]
    assert completed["sha256"] == sha256(audio)

    detail = target.api.request(
        "GET", f"/api/v1/interviews/{target.interview_id}", target.candidate
    )
    body = detail.json()
    assert body["status"] == "completed"
    assert body["duration_seconds"] == pytest.approx(5.0)
    answers = [(q["answer_start_seconds"], q["answer_end_seconds"]) for q in body["questions"]]
    assert answers == [(float(i), float(i + 1)) for i in range(5)]

    wav = target.api.request(
        "GET", f"/api/v1/interviews/{target.interview_id}/recording", target.candidate
    )
    assert wav.status_code == 200
    assert wav.headers["content-type"] == "audio/wav"
    assert wav.content[:4] == b"RIFF" and wav.content[44:] == audio


async def test_a_repeated_or_stale_answer_done_changes_nothing(target: StreamTarget) -> None:
    """v1.1: answer_done names its question; saying it again (after a drop ate the reply)
    is already done, so no question is skipped or asked twice."""
    async with await open_stream(target) as ws:
        await ws.send(hello())
        assert (await receive_until(ws, "ready"))["question"]["index"] == 0
        await ws.send(frame(0, noise_pcm(1.0)))
        await ws.send(json.dumps({"type": "answer_done", "index": 0}))
        assert (await receive_until(ws, "question"))["index"] == 1
        for repeat in ({"index": 0}, {"index": 0}, {"index": 3}):  # a repeat; one from nowhere
            await ws.send(json.dumps({"type": "answer_done", **repeat}))
            assert (await receive_until(ws, "question"))["index"] == 1
        for bad in (-1, "1", 1.5):  # an absent index is a v1 client (the test above)
            await ws.send(json.dumps({"type": "answer_done", "index": bad}))
            error = await receive_until(ws, "error")
            assert error["code"] == "bad_message" and "index" in error["message"]
        await ws.send(json.dumps({"type": "answer_done", "index": 1}))
        assert (await receive_until(ws, "question"))["index"] == 2
    detail = target.api.request(
        "GET", f"/api/v1/interviews/{target.interview_id}", target.candidate
    ).json()
    spans = [(q["answer_start_seconds"], q["answer_end_seconds"]) for q in detail["questions"]]
    # An answer's span is its kept take's; the third question was asked but not yet answered.
    assert spans[:3] == [(0.0, 1.0), (1.0, 1.0), (None, None)]
    assert [q["asked_seconds"] for q in detail["questions"][:3]] == [0.0, 1.0, 1.0]


async def test_a_hello_after_the_interview_completed_gets_a_completed_ready(
    api: Api, target: StreamTarget
) -> None:
    """v1.1: a connection whose handshake passed while the interview was in progress, and
    whose hello arrives after it completed (an earlier connection's `end` was processed),
    hears that it completed, with the report, then a normal close: not a refusal."""
    late = await open_stream(target)  # the handshake passes: the interview is not finished
    report = {"audio_bytes": 32000, "duration_seconds": 1.0, "sha256": "ab" * 32}
    await _mark_completed(api, target.interview_id, report)
    async with late:
        await late.send(hello())
        ready = await receive_until(late, "ready")
        assert ready["completed"] == report
        assert ready["question"] is None and ready["resume_offset"] == 32000
        assert await closed_with(late) == 1000


async def _mark_completed(api: Api, interview_id: str, report: dict[str, Any]) -> None:
    """What the stream service's `end` commits, written as another connection would have."""
    import uuid

    from backend.app.core.db import create_engine, create_sessionmaker
    from backend.app.models import Interview
    from backend.app.models.enums import InterviewStatus

    engine = create_engine(api.server.settings)
    try:
        async with create_sessionmaker(engine)() as session:
            interview = await session.get(Interview, uuid.UUID(interview_id))
            assert interview is not None
            interview.status = InterviewStatus.COMPLETED
            interview.audio_bytes = report["audio_bytes"]
            interview.duration_seconds = report["duration_seconds"]
            interview.audio_sha256 = report["sha256"]
            await session.commit()
    finally:
        await engine.dispose()


async def test_recording_is_for_owner_and_staff_only(api: Api, target: StreamTarget) -> None:
    async with await open_stream(target) as ws:
        await ws.send(hello())
        await receive_until(ws, "ready")
        await ws.send(frame(0, noise_pcm(0.1)))
        await receive_until(ws, "ack")
    path = f"/api/v1/interviews/{target.interview_id}/recording"
    stranger = api.make_user(Role.CANDIDATE)
    proctor = api.make_user(Role.PROCTOR)
    assert api.request("GET", path, stranger).status_code == 403
    assert api.request("GET", path).status_code == 401
    assert api.request("GET", path, proctor).status_code == 200
    fresh = new_interview(api)
    assert (
        api.request("GET", f"/api/v1/interviews/{fresh.interview_id}/recording", fresh.candidate)
    ).status_code == 404


# --- one live connection; isolation ----------------------------------------------------------


async def test_a_newer_connection_supersedes_the_older(target: StreamTarget) -> None:
    audio = noise_pcm(1.0)
    first = await open_stream(target)
    await first.send(hello())
    await receive_until(first, "ready")
    await first.send(frame(0, audio[:16000]))
    await receive_until(first, "ack")
    async with await open_stream(target) as second:
        assert await closed_with(first) == 4000
        assert first.close_reason == "superseded"
        await second.send(hello())
        ready = await receive_until(second, "ready")
        assert ready["resume_offset"] == 16000
        await second.send(frame(16000, audio[16000:]))
        await second.send(json.dumps({"type": "end"}))
        completed = await receive_until(second, "completed")
    assert completed["sha256"] == sha256(audio)


async def test_garbage_on_one_interview_leaves_another_intact(api: Api) -> None:
    good, bad = new_interview(api), new_interview(api)
    audio = noise_pcm(2.0, seed=3)

    async def stream_good() -> dict[str, Any]:
        async with await open_stream(good) as ws:
            await ws.send(hello())
            await receive_until(ws, "ready")
            for offset in range(0, len(audio), 640):
                await ws.send(frame(offset, audio[offset : offset + 640]))
                await asyncio.sleep(0.001)
            await ws.send(json.dumps({"type": "end"}))
            return await receive_until(ws, "completed")

    async def attack() -> None:
        for payload in [b"\xff" * 3, frame(0, b"\x00"), b"{", frame(99, b"\x00\x00")]:
            with contextlib.suppress(ConnectionClosed, InvalidStatus):
                async with await open_stream(bad) as ws:
                    await ws.send(payload)
                    await ws.send(hello())
                    await ws.send(payload)
                    await asyncio.sleep(0.05)

    completed, _ = await asyncio.gather(stream_good(), attack())
    assert completed["sha256"] == sha256(audio)
