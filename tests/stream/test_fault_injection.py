"""Fault injection on the audio stream (protocol v1, docs/protocol.md): the network and other
clients misbehave, and every recording still ends byte-identical to what was captured.

- Twenty connection drops at random moments of a two-minute stream, then an uplink throttled
  below real time for 30 s: the kiosk's backlog grows, then shrinks back under one second
  once the link recovers.
- Fifty kiosks stream at once while one of them sends garbage: every kind of garbage gets the
  answer the protocol documents, the other 49 recordings are untouched, the server stays up.

Killing the backend (twice) or the kiosk with SIGKILL mid-interview is covered in
tests/stream/test_resilience.py and not repeated here.

The randomness (cut moments, audio, garbage) comes from one seed, printed by each test; set
IK_FAULT_SEED to replay a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from backend.app.server import BackgroundServer
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer, StreamState
from support.api import Api
from support.faults import (
    BYTES_PER_SECOND,
    Capture,
    Stopwatch,
    new_interviews,
    sample_backlog,
    server_errors,
)
from support.proxy import CuttableProxy
from support.stream import StreamTarget, frame, hello, new_interview, noise_pcm, sha256

pytestmark = pytest.mark.asyncio
SEED = int(os.environ.get("IK_FAULT_SEED", "20250611"))


def streamer_for(
    target: StreamTarget, spool_dir: Path, ws_url: str, kiosk_id: str
) -> AudioStreamer:
    spool = Spool(spool_dir, SpoolInfo(target.interview_id, ws_url, 16000))
    return AudioStreamer(spool, target.candidate.token, kiosk_id, "test")


def assert_recording_is(
    target: StreamTarget, audio: bytes, completed: dict[str, Any] | None
) -> None:
    """The server's account of the recording, both in ``completed`` and over REST, is
    exactly ``audio``: same length, same sha256, same bytes."""
    label = f"interview {target.interview_id}"
    assert completed is not None, f"{label}: no completed report"
    assert completed["audio_bytes"] == len(audio), (
        f"{label}: {completed['audio_bytes']} bytes recorded, {len(audio)} captured"
    )
    assert completed["sha256"] == sha256(audio), f"{label}: sha256 differs from the capture"
    path = f"/api/v1/interviews/{target.interview_id}"
    detail = target.api.request("GET", path, target.candidate)
    assert detail.status_code == 200, detail.text
    assert detail.json()["status"] == "completed", f"{label}: {detail.json()['status']}"
    wav = target.api.request("GET", f"{path}/recording", target.candidate)
    assert wav.status_code == 200, wav.text
    assert wav.content[44:] == audio, f"{label}: the served WAV differs from the capture"


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out after {timeout} s: {what}"
        await asyncio.sleep(0.01)


# --- 20 drops, then a throttled uplink ---------------------------------------------------------

DROPS = 20
DROPPED_STREAM_SECONDS = 120.0
# Pace of the dropped phase. Offsets, resends and the spool do not depend on the wall clock,
# and faster capture is the harder case: with acks every 250 ms, each cut at 10x strands up
# to 2.5 s of unacknowledged audio that must be resent. It also keeps 2 minutes of audio to
# 12 s of test.
DROPPED_PHASE_SPEED = 10.0
THROTTLE_SECONDS = 45.0  # at real-time capture: the backlog only builds against a real clock
THROTTLE_BYTES_PER_SECOND = 16000  # half of what 16 kHz mono int16 needs (32000 B/s)
RECOVERY_LIMIT_SECONDS = 15.0


@pytest.mark.slow
async def test_twenty_drops_then_a_throttled_uplink_lose_nothing(
    api: Api, backend_server: BackgroundServer, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    print(f"\nseed {SEED} (IK_FAULT_SEED)")
    target = new_interview(api)
    proxy = await CuttableProxy("127.0.0.1", backend_server.port).start()
    ws_url = target.ws_url.replace(f":{backend_server.port}/", f":{proxy.port}/")
    streamer = streamer_for(target, tmp_path / "spool", ws_url, "kiosk-drops")
    total = DROPPED_STREAM_SECONDS + THROTTLE_SECONDS + RECOVERY_LIMIT_SECONDS
    capture = Capture(noise_pcm(total, seed=SEED))
    runner = asyncio.create_task(streamer.run())
    loop = asyncio.get_running_loop()
    try:
        # Phase 1: 20 cuts at random moments of the first two minutes of audio.
        moments = sorted(rng.uniform(0.5, DROPPED_STREAM_SECONDS - 0.5) for _ in range(DROPS))
        print("cuts at audio seconds:", ", ".join(f"{m:.2f}" for m in moments))
        cut_at: list[float] = []

        async def cut_at_moments() -> None:
            for moment in moments:
                while capture.position < moment * BYTES_PER_SECOND:
                    await asyncio.sleep(0.002)
                # Cut a live link, not one already cut that the client has yet to notice.
                while streamer.state is not StreamState.STREAMING or not proxy.connections:
                    await asyncio.sleep(0.005)
                proxy.cut()
                cut_at.append(capture.position / BYTES_PER_SECOND)

        elapsed = Stopwatch()
        async with asyncio.timeout(60):
            await asyncio.gather(
                capture.feed(streamer, DROPPED_STREAM_SECONDS, speed=DROPPED_PHASE_SPEED),
                cut_at_moments(),
            )
        print(f"dropped phase: {elapsed():.1f} s, cuts landed at audio seconds:",
              ", ".join(f"{m:.2f}" for m in cut_at))  # fmt: skip
        assert proxy.cuts == DROPS
        # The link is whole again: the kiosk notices the last cut, reconnects and catches up
        # before the next fault.
        await until(
            lambda: streamer.reconnects >= DROPS
            and streamer.state is StreamState.STREAMING
            and streamer.unacked_seconds < 1.0,
            10, f"reconnecting and catching up after {DROPS} cuts "
            f"({streamer.reconnects} reconnects, {streamer.unacked_seconds:.2f} s unacked)",
        )  # fmt: skip
        reconnects_after_drops = streamer.reconnects

        # Phase 2: the uplink carries half of real time for 45 s while the kiosk captures at
        # real time, then recovers; capture goes on at real time until the backlog is < 1 s.
        # 45 s, not the 30 s asked for: before the kiosk capped its unacknowledged audio
        # (MAX_IN_FLIGHT_SECONDS), the queued backlog delayed its pongs and the server
        # dropped this delivering link after about 40 s.
        async with sample_backlog(streamer) as backlog:
            proxy.throttle(THROTTLE_BYTES_PER_SECOND)
            throttled_at, forwarded_before = loop.time(), proxy.forwarded_up
            await capture.feed(streamer, THROTTLE_SECONDS, speed=1.0)
            proxy.throttle(None)
            lifted_at = loop.time()
            uplink = (proxy.forwarded_up - forwarded_before) / (lifted_at - throttled_at)
            await capture.feed(
                streamer, RECOVERY_LIMIT_SECONDS, speed=1.0,
                until=lambda: streamer.unacked_seconds < 1.0,
            )  # fmt: skip
            recovered_at = loop.time()
        during = backlog.between(throttled_at, lifted_at)
        peak = max(during)
        print(f"throttle {THROTTLE_BYTES_PER_SECOND} B/s for {lifted_at - throttled_at:.1f} s "
              f"(uplink carried {uplink:.0f} B/s): backlog peaked at {peak:.2f} s of audio; "
              f"reconnects meanwhile: {streamer.reconnects - reconnects_after_drops}")  # fmt: skip
        assert uplink < THROTTLE_BYTES_PER_SECOND * 1.1, f"the proxy let {uplink:.0f} B/s through"
        assert peak > 5.0, f"the backlog only reached {peak:.2f} s: was the link throttled?"
        assert streamer.reconnects == reconnects_after_drops, "a slow link was dropped"
        assert streamer.unacked_seconds < 1.0, (
            f"backlog still {streamer.unacked_seconds:.2f} s after "
            f"{recovered_at - lifted_at:.1f} s of recovered link"
        )
        # Capture checks the backlog after every 20 ms block, so this is exact to 20 ms.
        print(f"backlog under 1 s {recovered_at - lifted_at:.2f} s after the throttle was lifted")

        completed = await asyncio.wait_for(streamer.end(), 30)
        await asyncio.wait_for(runner, 10)
    finally:
        if not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
        await proxy.stop()

    print(f"recorded {len(capture.fed)} bytes ({len(capture.fed) / BYTES_PER_SECOND:.1f} s), "
          f"{streamer.reconnects} reconnects in all")  # fmt: skip
    assert streamer.state is StreamState.COMPLETED
    await asyncio.to_thread(assert_recording_is, target, capture.fed, completed)
    assert not list((tmp_path / "spool").iterdir())  # the journal is gone once complete


# --- 49 kiosks and one hostile client ----------------------------------------------------------

KIOSKS = 50
# uvicorn 0.54's websockets-sansio layer logs these at ERROR for a client's fault, though it
# answers correctly: the first after every refused handshake (HTTP 401/403/404/409; upstream
# Kludex/uvicorn#3138), the second, with a traceback, for a text frame that is not UTF-8
# (it closes 1007 as RFC 6455 says). Anything else logged at ERROR fails the test, above all
# "Exception in ASGI application", the trace of a handler that crashed on garbage.
UVICORN_NOISE = {
    "ASGI callable returned without completing handshake.",
    "Invalid UTF-8 sequence received from client.",
}
GOOD_MIN_SECONDS = 4.0  # each good kiosk streams at least this, and until the attack is over
GOOD_MAX_SECONDS = 30.0  # the attack must be over by then


async def open_ws(target: StreamTarget, **kwargs: Any) -> ClientConnection:
    return await connect(
        target.ws_url, additional_headers=target.headers, open_timeout=5, compression=None,
        max_size=None, **kwargs,
    )  # fmt: skip


async def receive(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    """The next message that is not an ack (acks arrive whenever audio was stored)."""
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] != "ack":
                return dict(message)


async def until_closed(ws: ClientConnection, timeout: float, what: str) -> tuple[list[str], int]:
    """Every error code received until the server closes, and its close code."""
    codes: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "error":
                    codes.append(message["code"])
    except ConnectionClosed:
        assert ws.close_code is not None
        return codes, ws.close_code
    except TimeoutError:
        raise AssertionError(f"{what}: still open after {timeout} s (errors {codes})") from None


@dataclass
class Hostile:
    """A client with a valid token and interview of its own that breaks every rule it can.

    ``recording`` is what its interview must hold in the end: only the valid audio it sent,
    whatever garbage came with it."""

    target: StreamTarget
    second: StreamTarget  # another interview of the same candidate
    rng: random.Random
    recording: bytearray = field(default_factory=bytearray)
    checked: list[str] = field(default_factory=list)

    def pcm(self, size: int) -> bytes:
        return self.rng.randbytes(size)

    async def ready(self) -> ClientConnection:
        ws = await open_ws(self.target)
        await ws.send(hello())
        ready = await receive(ws)
        assert ready["type"] == "ready", ready
        assert ready["resume_offset"] == len(self.recording), "the durable end moved"
        return ws

    async def append(self, ws: ClientConnection, size: int = 640) -> None:
        """Valid audio at the durable end, and its ack: the connection still works."""
        audio = self.pcm(size)
        await ws.send(frame(len(self.recording), audio))
        self.recording += audio
        async with asyncio.timeout(5):
            while True:
                message = json.loads(await ws.recv())
                assert message["type"] == "ack", f"expected an ack, got {message}"
                if message["offset"] == len(self.recording):
                    return

    async def expect_close(
        self,
        what: str,
        ws: ClientConnection,
        close_code: int,
        error: str | None,
        timeout: float = 5.0,
    ) -> None:
        codes, code = await until_closed(ws, timeout, what)
        assert code == close_code, f"{what}: closed {code}, expected {close_code}"
        expected = [error] if error else []
        assert codes == expected, f"{what}: errors {codes}, expected {expected}"
        self.checked.append(f"{what}: {error or 'no message'}, close {code}")

    async def expect_kept(self, what: str, ws: ClientConnection, error: str) -> dict[str, Any]:
        message = await receive(ws)
        assert message.get("code") == error, f"{what}: got {message}, expected {error}"
        assert ws.close_code is None, f"{what}: the connection was closed"
        self.checked.append(f"{what}: {error}, connection kept")
        return message


async def send_oversized(ws: ClientConnection, message: str | bytes) -> None:
    # The server may refuse a message over its limit from the frame header and close while
    # the rest is still being written (seen once in CI): the send then fails. That is the
    # refusal under test; expect_close checks its close code next.
    with contextlib.suppress(ConnectionClosed):
        await ws.send(message)


async def attack(hostile: Hostile, victim: StreamTarget) -> None:
    rng = hostile.rng

    async def silent() -> None:  # opens a socket and never says hello
        # On a second interview of the same candidate: a newer connection to the first one
        # would take over (close 4000) before the 10 s are up.
        async with await open_ws(hostile.second, ping_interval=None) as ws:
            await hostile.expect_close("no hello for 10 s", ws, 1008, None, timeout=15)

    silence = asyncio.create_task(silent())

    # Before hello.
    async with await open_ws(hostile.target) as ws:
        await ws.send(rng.randbytes(rng.randint(1, 4096)))
        await hostile.expect_close("random bytes before hello", ws, 1008, None)
    async with await open_ws(hostile.target) as ws:
        await ws.send(frame(0, hostile.pcm(640)))
        await hostile.expect_close("an audio frame before hello", ws, 1008, None)
    async with await open_ws(hostile.target) as ws:
        junk = "".join(rng.choice(string.printable) for _ in range(200))
        texts = ["{not json", junk, "[1, 2]", '{"type": 5}', '"hello"', "null",
                 '{"type": "end"}', '{"type": "answer_done"}', '{"type": "hello"']  # fmt: skip
        for text in texts:
            await ws.send(text)
            await hostile.expect_kept(f"text {text[:20]!r} before hello", ws, "bad_message")
        await ws.send(hello())
        assert (await receive(ws))["type"] == "ready"
        await hostile.append(ws)

        # After hello: invalid JSON and messages a client must not send.
        for text in ["{", junk, hello(), '{"type": "ack", "offset": 99}', '{"type": "ready"}']:
            await ws.send(text)
            await hostile.expect_kept(f"text {text[:20]!r} after hello", ws, "bad_message")
        await hostile.append(ws)

        # Bad offsets: gaps keep the connection, a resend of different bytes changes nothing.
        end = len(hostile.recording)
        for offset in [end + 2, end + 64000, 2**63, 2**64 - 1]:
            await ws.send(frame(offset, hostile.pcm(640)))
            gap = await hostile.expect_kept(f"a gap at offset {offset}", ws, "gap")
            assert gap["expected_offset"] == end, gap
        await ws.send(frame(0, hostile.pcm(1280)))  # backwards: already stored, ignored
        await ws.send(frame(end - 640, hostile.pcm(640)))  # the last block again, other bytes
        fresh = hostile.pcm(640)
        await ws.send(frame(end - 640, hostile.pcm(640) + fresh))  # half resend, half new
        hostile.recording += fresh
        await hostile.append(ws)  # no error came for any of them: only acks, up to here
        hostile.checked.append("resends with other bytes (backwards offsets): ignored")

    # Binary garbage after a valid hello: random frames, judged by the rules of section 3-4.
    ws = await hostile.ready()
    for _ in range(30):
        size = rng.choice(
            [rng.randint(0, 8), rng.randint(9, 4096), 8 + 2 * rng.randint(32769, 80000)]
        )
        blob = rng.randbytes(size)
        offset = int.from_bytes(blob[:8], "big")
        audio = blob[8:]
        durable = len(hostile.recording)
        if size < 9:
            await ws.send(blob)
            await hostile.expect_close(f"{size} random bytes", ws, 1008, "bad_frame")
        elif len(audio) > 65536:
            await ws.send(blob)
            await hostile.expect_close(f"{size} random bytes", ws, 1009, "bad_frame")
        elif len(audio) % 2:
            await ws.send(blob)
            await hostile.expect_close(f"{size} random bytes", ws, 1008, "bad_frame")
        elif offset > durable:
            await ws.send(blob)
            await hostile.expect_kept(f"{size} random bytes", ws, "gap")
            continue
        else:  # a random offset inside the recording is next to impossible; append as valid
            hostile.recording += audio[durable - offset :]
            await ws.send(blob)
            continue
        ws = await hostile.ready()

    # Huge messages: over 65536 audio bytes is bad_frame 1009; over the server's 1 MiB
    # message limit the WebSocket layer refuses it with 1009 before the app sees it.
    await ws.send(frame(len(hostile.recording), hostile.pcm(200_000)))
    await hostile.expect_close("a 200 kB frame", ws, 1009, "bad_frame")
    ws = await hostile.ready()
    await send_oversized(ws, frame(len(hostile.recording), hostile.pcm(3 << 20)))
    await hostile.expect_close("a 3 MiB frame", ws, 1009, None)
    ws = await hostile.ready()
    await send_oversized(ws, "x" * (2 << 20))
    await hostile.expect_close("a 2 MiB text message", ws, 1009, None)
    # Not in the protocol: a text frame that is not UTF-8 breaks RFC 6455 (close 1007).
    ws = await hostile.ready()
    await ws.send(b"\xff\xfe{", text=True)
    await hostile.expect_close("a text frame that is not UTF-8", ws, 1007, None)

    # Hellos that break the rules.
    for bad_hello, close_code, error in [
        (hello(protocol=2), 1008, "bad_message"),
        (json.dumps({"type": "hello"}), 1008, "bad_message"),
        (hello(sample_rate=44100), 1003, "unsupported_audio"),
        (hello(sample_rate=48000), 1008, "format_mismatch"),  # the interview is 16 kHz
        (json.dumps({"type": "hello", "protocol": 1, "audio": "pcm"}), 1003, "unsupported_audio"),
    ]:
        async with await open_ws(hostile.target) as ws:
            await ws.send(bad_hello)
            await hostile.expect_close(f"hello {bad_hello[:40]}", ws, close_code, error)

    # Another kiosk's interview: refused in the handshake, and nothing taken over.
    with pytest.raises(InvalidStatus) as refused:
        await connect(victim.ws_url, additional_headers=hostile.target.headers, open_timeout=5)
    assert refused.value.response.status_code == 403
    hostile.checked.append("someone else's interview: HTTP 403")

    await asyncio.wait_for(silence, 15)


@pytest.mark.slow
# Above the default 120 s: making 50 accounts hashes 100 passwords with argon2 (register and
# sign-in), about 10 s on an idle 2-core machine but up to 90 s on a busy shared one.
@pytest.mark.timeout(300)
async def test_one_hostile_client_among_fifty_harms_no_other_recording(
    api: Api, backend_server: BackgroundServer, tmp_path: Path
) -> None:
    print(f"\nseed {SEED} (IK_FAULT_SEED)")
    elapsed = Stopwatch()
    targets = await asyncio.to_thread(new_interviews, api, KIOSKS)
    print(f"{KIOSKS} candidates and interviews in {elapsed():.1f} s")
    second = await asyncio.to_thread(new_interview, api, targets[0].candidate)
    hostile = Hostile(targets[0], second, random.Random(SEED))
    good = targets[1:]
    captures = [Capture(noise_pcm(GOOD_MAX_SECONDS, seed=SEED + 1 + i)) for i in range(len(good))]
    streamers = [
        streamer_for(target, tmp_path / "spool", target.ws_url, f"kiosk-{i}")
        for i, target in enumerate(good, start=1)
    ]
    runners = [asyncio.create_task(streamer.run()) for streamer in streamers]
    attack_over = asyncio.Event()
    minimum = int(GOOD_MIN_SECONDS * 16000) * 2

    async def kiosk(capture: Capture, streamer: AudioStreamer) -> dict[str, Any] | None:
        await asyncio.wait_for(streamer.wait_ready(), 15)
        # At real time, as a microphone would: the garbage arrives amid live streams.
        await capture.feed(
            streamer, None, speed=1.0,
            until=lambda: attack_over.is_set() and capture.position >= minimum,
        )  # fmt: skip
        return await asyncio.wait_for(streamer.end(), 30)

    reconnects_before: list[int] = []

    async def attacker() -> None:
        try:
            await asyncio.wait_for(
                asyncio.gather(*(streamer.wait_ready() for streamer in streamers)), 15
            )
            reconnects_before.extend(streamer.reconnects for streamer in streamers)
            await attack(hostile, good[0])
        finally:
            attack_over.set()

    try:
        with server_errors() as logged:
            # A TaskGroup: if one kiosk or the attack fails, the rest are cancelled, not left.
            async with asyncio.timeout(90), asyncio.TaskGroup() as group:
                kiosks = [
                    group.create_task(kiosk(capture, streamer))
                    for capture, streamer in zip(captures, streamers, strict=True)
                ]
                group.create_task(attacker())
            reports = [task.result() for task in kiosks]
            await asyncio.wait_for(asyncio.gather(*runners), 10)
            # The hostile client's own interview holds exactly its valid audio.
            async with await open_ws(hostile.target) as ws:
                await ws.send(hello())
                assert (await receive(ws))["type"] == "ready"
                await ws.send(json.dumps({"type": "end"}))
                hostile_completed = await receive(ws)
    finally:
        for runner in runners:
            runner.cancel()
    print(f"streams and attack done in {elapsed():.1f} s; checked:")
    print("\n".join(f"  {line}" for line in hostile.checked))

    noise = [r for r in logged if r.getMessage() in UVICORN_NOISE]
    errors = [r.getMessage() for r in logged if r not in noise]
    print(f"uvicorn logged {len(noise)} known spurious errors:", {r.getMessage() for r in noise})
    assert not errors, "the server logged errors:\n" + "\n".join(errors)
    assert all(capture.position >= minimum for capture in captures)
    # Each good kiosk was still capturing when the attack ended: the garbage met live streams.
    assert all(capture.position < len(capture.audio) for capture in captures), (
        f"the attack outlasted {GOOD_MAX_SECONDS} s of good streams"
    )
    # Not one good stream dropped while the garbage arrived (before it, a handshake slowed
    # by a busy machine may time out and retry: not the attacker's doing).
    dropped = [
        streamer.interview_id
        for streamer, before in zip(streamers, reconnects_before, strict=True)
        if streamer.reconnects != before
    ]
    assert not dropped, f"good streams that dropped during the attack: {dropped}"
    for target, capture, streamer, completed in zip(
        good, captures, streamers, reports, strict=True
    ):
        assert streamer.state is StreamState.COMPLETED, f"{target.interview_id}: {streamer.error}"
        await asyncio.to_thread(assert_recording_is, target, capture.fed, completed)
    assert hostile_completed["type"] == "completed", hostile_completed
    await asyncio.to_thread(assert_recording_is, hostile.target, bytes(hostile.recording),
                            hostile_completed)  # fmt: skip
    health = await asyncio.to_thread(api.request, "GET", "/health")
    assert health.status_code == 200, health.text
