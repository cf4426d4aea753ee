"""Interview rules over protocol v1.2 against a real server: think and answer limits as byte
offsets, takes kept or retried, extra time, refusals that keep the connection, and limits that
come out exactly the same after a dropped link or a SIGKILLed backend.

The audio is the clock, so these tests feed it faster than real time: 8 s of answer is
256000 bytes at 16 kHz, whenever they arrive.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from support.api import Api
from support.backend_process import BackendProcess
from support.stream import StreamTarget, frame, hello, noise_pcm, ruled_interview

pytestmark = pytest.mark.asyncio

BPS = 32000  # bytes per second at 16 kHz mono
STEP = 3200  # 100 ms frames, as the kiosk sends


class Seat:
    """One connection, speaking v1.2 by hand: audio in 100 ms frames, take messages at the
    offsets they name, and every server message kept in order."""

    def __init__(self, ws: ClientConnection, ready: dict[str, Any]) -> None:
        self.ws = ws
        self.ready = ready
        self.sent = int(ready["resume_offset"])
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        # What may pass unremarked while waiting for another message.
        self.passing = {"ack", "answer_started", "answer_ended"}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, target: StreamTarget, keeps_rules: bool = True) -> Seat:
        ws = await connect(target.ws_url, additional_headers=target.headers)
        await ws.send(hello(features=["rules"]) if keeps_rules else hello())
        ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ready["type"] == "ready", ready
        return cls(ws, ready)

    async def _read(self) -> None:
        async for raw in self.ws:
            if isinstance(raw, str):
                await self.inbox.put(json.loads(raw))

    async def audio(self, seconds: float) -> None:
        """``seconds`` more audio from where the stream stands."""
        await self.audio_to(self.sent + int(seconds * BPS))

    async def audio_to(self, end: int) -> None:
        pcm = noise_pcm((end - self.sent) / BPS, seed=self.sent)
        for start in range(0, len(pcm), STEP):
            chunk = pcm[start : start + STEP]
            await self.ws.send(frame(self.sent, chunk))
            self.sent += len(chunk)

    async def say(self, kind: str, **fields: Any) -> None:
        await self.ws.send(json.dumps({"type": kind, **fields}))

    async def expect(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of this type (acks and other types on the way are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.inbox.get()
                if message["type"] == kind:
                    return message
                assert message["type"] in self.passing, message

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


def detail(target: StreamTarget) -> dict[str, Any]:
    response = target.api.request(
        "GET", f"/api/v1/interviews/{target.interview_id}", target.candidate
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def spans(question: dict[str, Any]) -> list[tuple[float, float | None, str | None, bool]]:
    return [
        (t["start_seconds"], t["end_seconds"], t["end_reason"], t["kept"])
        for t in question["answer_takes"]
    ]


async def test_think_answer_retry_keep_and_limits_are_recorded_as_offsets(api: Api) -> None:
    target = await asyncio.to_thread(ruled_interview, api, 5, 8, 2)
    seat = await Seat.open(target)
    question = seat.ready["question"]
    assert question["rules"] == {
        "think_seconds": 5.0, "answer_seconds": 8.0, "takes": 2, "accommodation": None,
    }  # fmt: skip
    assert (question["phase"], question["asked_offset"]) == ("thinking", 0)
    assert question["think_limit_offset"] == 5 * BPS

    # Question 0: think 2 s, answer 3 s, try again, answer 4 s: the last take is kept.
    await seat.audio(2)
    await seat.say("answer_started", index=0, take=1, offset=seat.sent)
    started = await seat.expect("answer_started")
    assert started == {"type": "answer_started", "index": 0, "take": 1, "offset": 2 * BPS,
                       "limit_offset": 10 * BPS, "reason": "candidate"}  # fmt: skip
    await seat.audio(3)
    await seat.say("answer_done", index=0, take=1, offset=seat.sent)
    ended = await seat.expect("answer_ended")
    assert (ended["offset"], ended["reason"], ended["takes_left"]) == (5 * BPS, "candidate", 1)
    await seat.audio(1)  # deciding: no clock runs
    await seat.say("answer_started", index=0, take=2, offset=seat.sent)
    assert (await seat.expect("answer_started"))["limit_offset"] == 14 * BPS
    await seat.audio(4)
    await seat.say("answer_done", index=0, take=2, offset=seat.sent)
    following = await seat.expect("question")  # the last take is kept as it ends
    assert (following["index"], following["asked_offset"]) == (1, 10 * BPS)

    # Question 1: keep the first take, though a second was allowed.
    await seat.audio(1)
    await seat.say("answer_started", index=1, take=1, offset=seat.sent)
    await seat.expect("answer_started")
    await seat.audio(2)
    await seat.say("answer_done", index=1, take=1, offset=seat.sent)
    await seat.expect("answer_ended")
    await seat.say("keep_take", index=1, take=1, offset=seat.sent)
    following = await seat.expect("question")
    assert (following["index"], following["asked_offset"]) == (2, 13 * BPS)

    # Question 2: thinking runs out, then the answer runs into its limit, mid-frame both times.
    await seat.audio(5.05)
    started = await seat.expect("answer_started")
    assert (started["offset"], started["reason"]) == (18 * BPS, "limit")
    await seat.audio(8.05)
    ended = await seat.expect("answer_ended")
    assert (ended["offset"], ended["reason"], ended["takes_left"]) == (26 * BPS, "limit", 1)
    await seat.say("keep_take", index=2, take=1, offset=seat.sent)
    assert (await seat.expect("question"))["asked_offset"] == seat.sent
    await seat.close()

    questions = (await asyncio.to_thread(detail, target))["questions"]
    assert spans(questions[0]) == [(2.0, 5.0, "candidate", False), (6.0, 10.0, "candidate", True)]
    assert spans(questions[1]) == [(11.0, 13.0, "candidate", True)]
    assert spans(questions[2]) == [(18.0, 26.0, "limit", True)]
    assert [q["kept_take"] for q in questions[:3]] == [2, 1, 1]
    assert (questions[0]["answer_start_seconds"], questions[0]["answer_end_seconds"]) == (6, 10)


async def test_a_client_that_does_not_keep_the_clock_gets_no_limits(api: Api) -> None:
    """A v1 or v1.1 client (no "rules" in hello) is never told a limit ran out, so none runs:
    otherwise its next answer_done would end a question it never showed."""
    target = await asyncio.to_thread(ruled_interview, api, 5, 8, 1)
    seat = await Seat.open(target, keeps_rules=False)
    seat.passing = {"ack"}  # no answer_started or answer_ended: no limit ran
    await seat.audio(20)  # past thinking and answering both
    await seat.say("answer_done", index=0)
    following = await seat.expect("question")
    assert following["index"] == 1
    await seat.close()
    first = (await asyncio.to_thread(detail, target))["questions"][0]
    assert spans(first) == [(0.0, 20.0, "candidate", True)]  # the whole answer, as said


async def test_one_take_is_kept_as_it_ends_and_zero_think_answers_at_once(api: Api) -> None:
    target = await asyncio.to_thread(ruled_interview, api, 0, 15, 1)
    seat = await Seat.open(target)
    started = await seat.expect("answer_started")  # think 0: the answer starts with the question
    assert (started["offset"], started["reason"]) == (0, "limit")
    await seat.audio(3)
    await seat.say("answer_done", index=0, take=1, offset=seat.sent)
    ended = await seat.expect("answer_ended")
    assert ended["takes_left"] == 0
    following = await seat.expect("question")
    assert following["index"] == 1
    await seat.close()


async def test_unlimited_thinking_never_starts_an_answer_by_itself(api: Api) -> None:
    target = await asyncio.to_thread(ruled_interview, api, None, 15, 1)
    seat = await Seat.open(target)
    assert seat.ready["question"]["rules"]["think_seconds"] is None
    assert seat.ready["question"]["think_limit_offset"] is None
    await seat.audio(60)
    await seat.say("answer_started", index=0, take=1, offset=seat.sent)
    assert (await seat.expect("answer_started"))["offset"] == 60 * BPS
    await seat.close()


async def test_extra_time_stretches_every_limit_and_names_who_granted_it(api: Api) -> None:
    target = await asyncio.to_thread(ruled_interview, api, 5, 8, 1, "x1.5")
    seat = await Seat.open(target)
    rules = seat.ready["question"]["rules"]
    assert (rules["think_seconds"], rules["answer_seconds"]) == (7.5, 12.0)
    assert rules["accommodation"] == "x1.5"
    await seat.audio(8)
    started = await seat.expect("answer_started")
    assert (started["offset"], started["reason"]) == (int(7.5 * BPS), "limit")
    await seat.audio(12)
    ended = await seat.expect("answer_ended")
    assert ended["offset"] - started["offset"] == 12 * BPS
    await seat.close()
    record = await asyncio.to_thread(detail, target)
    assert record["accommodation"] == "x1.5"
    assert record["accommodation_granted_by"] is not None
    assert record["accommodation_granted_by"] == record["proctor_id"]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": "keep_take", "index": 0, "take": 3}, "bad_take"),  # no such take
        ({"type": "keep_take", "index": 0, "take": 1}, "bad_take"),  # take 1 still running
        ({"type": "answer_started", "index": 0, "take": 2}, "bad_take"),  # take 1 running
        ({"type": "answer_done", "index": 0, "take": 2}, "bad_take"),  # never started
        ({"type": "answer_started", "index": 3, "take": 1}, "bad_take"),  # not asked yet
        ({"type": "keep_take", "index": 0, "take": "1"}, "bad_message"),
        ({"type": "keep_take", "index": 0}, "bad_message"),
        ({"type": "answer_done", "take": 1}, "bad_message"),
        ({"type": "answer_done", "index": 0, "take": 1, "offset": 10**9}, "bad_message"),
        ({"type": "answer_done", "index": 0, "take": 1, "offset": 3}, "bad_message"),
    ],
)
async def test_a_take_message_that_cannot_be_kept_is_refused_and_the_connection_kept(
    api: Api, message: dict[str, Any], code: str
) -> None:
    target = await asyncio.to_thread(ruled_interview, api, 5, 8, 2)
    seat = await Seat.open(target)
    await seat.audio(1)
    await seat.say("answer_started", index=0, take=1, offset=seat.sent)
    await seat.expect("answer_started")
    await seat.audio(1)
    await seat.ws.send(json.dumps(message))
    refused = await seat.expect("error")
    assert refused["code"] == code, refused
    # Nothing changed, and the same connection goes on: the take ends where the client says.
    await seat.audio(1)
    await seat.say("answer_done", index=0, take=1, offset=seat.sent)
    ended = await seat.expect("answer_ended")
    assert (ended["take"], ended["offset"]) == (1, 3 * BPS)
    await seat.close()


async def test_each_take_message_said_twice_changes_nothing(api: Api) -> None:
    target = await asyncio.to_thread(ruled_interview, api, 5, 8, 2)
    seat = await Seat.open(target)
    await seat.audio(1)
    for _ in range(2):
        await seat.say("answer_started", index=0, take=1, offset=BPS)
    await seat.expect("answer_started")
    assert (await seat.expect("question"))["phase"] == "answering"  # the repeat: where it stands
    await seat.audio(2)
    for _ in range(2):
        await seat.say("answer_done", index=0, take=1, offset=3 * BPS)
    await seat.expect("answer_ended")
    assert (await seat.expect("question"))["phase"] == "deciding"
    for _ in range(2):
        await seat.say("keep_take", index=0, take=1, offset=3 * BPS)
    assert (await seat.expect("question"))["index"] == 1
    assert (await seat.expect("question"))["index"] == 1  # the repeat is answered, not applied
    await seat.close()
    questions = (await asyncio.to_thread(detail, target))["questions"]
    assert spans(questions[0]) == [(1.0, 3.0, "candidate", True)]


# --- the limit is the same after a drop or a crash ------------------------------------------


@pytest.mark.parametrize("fault", ["link cut", "backend SIGKILL"])
async def test_an_answer_broken_off_mid_way_ends_at_exactly_the_same_offset(
    backend: BackendProcess, fault: str
) -> None:
    api = Api(backend)  # type: ignore[arg-type]  # a process, not a BackgroundServer
    try:
        target = await asyncio.to_thread(ruled_interview, api, 5, 8, 2)
        seat = await Seat.open(target)
        await seat.audio(1.5)
        await seat.say("answer_started", index=0, take=1, offset=seat.sent)
        started = await seat.expect("answer_started")
        limit = started["limit_offset"]
        assert limit == int(1.5 * BPS) + 8 * BPS
        await seat.audio(3.3)  # in the middle of the answer
        captured = seat.sent  # what the kiosk's spool holds, acknowledged or not
        if fault == "backend SIGKILL":
            backend.kill()
            backend.start()
        await seat.close()

        seat = await Seat.open(target)
        question = seat.ready["question"]
        assert question["phase"] == "answering" and question["take"] == 1
        assert question["answer_limit_offset"] == limit  # the same limit, to the byte
        assert seat.ready["resume_offset"] <= captured
        await seat.audio_to(captured)  # the spool resends what was not acknowledged
        remaining = (limit - seat.sent) / BPS
        assert remaining == pytest.approx(8 - 3.3, abs=0.25)  # as if nothing had happened
        await seat.audio_to(limit + 2 * STEP)
        ended = await seat.expect("answer_ended")
        assert (ended["offset"], ended["reason"]) == (limit, "limit")
        await seat.close()
        taken = spans((await asyncio.to_thread(detail, target))["questions"][0])
        assert taken[0][:3] == (1.5, 9.5, "limit")
    finally:
        api.http.close()
