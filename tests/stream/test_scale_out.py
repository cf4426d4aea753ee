"""Three backend processes behind Debian's nginx (the shipped configuration) on one
PostgreSQL database and one data directory, as the central deployment runs them: kiosks
stream through nginx, a process is SIGKILLed mid-stream, and every interview resumes through
another process with its recording byte-identical; a second connection for an interview
through another process takes it over from the first; a proctor ending a seat's session on
one process closes the candidate's stream on another."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from backend.app.models.enums import Role
from backend.app.services.streaming.ownership import lock_key
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer, StreamState
from support import nginx
from support.api import Api
from support.backend_process import BackendProcess
from support.postgres import PostgresCluster
from support.room import SeatStub, assign_center, enroll_kiosk
from support.stream import StreamTarget, frame, hello, new_interview, noise_pcm, sha256

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]
BLOCK = 3200  # 100 ms of 16 kHz mono int16, as the kiosk sends a frame
KIOSKS = 30


class Cluster:
    def __init__(self, pg: PostgresCluster, database: str, processes: list[BackendProcess],
                 proxy: nginx.Nginx) -> None:  # fmt: skip
        self.pg, self.database, self.processes, self.nginx = pg, database, processes, proxy

    def api(self) -> Api:
        """The API through nginx (users are made with the first process's settings)."""
        api = Api(self.nginx)  # type: ignore[arg-type]  # nginx, not a BackgroundServer
        api.server = self.processes[0]  # type: ignore[assignment]  # its settings reach the DB
        return api

    async def database_session(self) -> Any:
        """A connection of the test's own to the processes' database (asyncpg)."""
        import asyncpg

        return await asyncpg.connect(
            host="127.0.0.1", port=self.pg.port, user=self.pg.user, database=self.database
        )

    async def half_streamed(self, seconds: float, seed: int) -> HalfStreamed:
        """A new interview through nginx with its first half streamed and acked, and the
        process that holds it."""
        target: StreamTarget = await asyncio.to_thread(new_interview, self.api())
        audio = noise_pcm(seconds, seed=seed)
        half = len(audio) // 2
        first = await websockets.connect(target.ws_url, additional_headers=target.headers)
        await first.send(hello())
        assert json.loads(await first.recv())["resume_offset"] == 0
        await _stream_until_acked(first, audio[:half], 0)
        holder = self.holder_of(await self.holders(), target.interview_id)
        assert holder is not None and holder.proc is not None
        return HalfStreamed(target, audio, half, first, holder)

    async def holders(self) -> dict[str, int]:
        """Which process (pid) holds each interview's stream lock now, from PostgreSQL."""
        connection = await self.database_session()
        try:
            rows = await connection.fetch(
                "SELECT l.classid::bigint AS high, l.objid::bigint AS low, a.application_name"
                " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.database ="
                " (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND a.application_name LIKE 'interview-backend % streams'"
            )
        finally:
            await connection.close()
        return {_key(row["high"], row["low"]): int(row["application_name"].split()[1])
                for row in rows}  # fmt: skip

    def holder_of(self, holders: dict[str, int], interview_id: str) -> BackendProcess | None:
        pid = holders.get(_key_of(interview_id))
        return next((p for p in self.processes if p.proc and p.proc.pid == pid), None)


@dataclass
class HalfStreamed:
    target: StreamTarget
    audio: bytes
    half: int
    first: websockets.ClientConnection
    holder: BackendProcess


def _key(high: int, low: int) -> str:
    return f"{high:08x}{low:08x}"


def _key_of(interview_id: str) -> str:
    return uuid.UUID(interview_id).hex[:16]  # the advisory lock key: its first 64 bits


@pytest_asyncio.fixture
async def cluster(postgres_cluster: PostgresCluster, tmp_path: Path) -> AsyncIterator[Cluster]:
    if not nginx.available():
        pytest.fail("nginx is missing (make test installs Debian's nginx)")
    database = await asyncio.to_thread(postgres_cluster.create_database)
    url = postgres_cluster.url(database)
    data = tmp_path / "shared-data"  # one directory every process reaches, as on shared storage
    env = {"IK_SPEECH_ENGINE": "none"}
    processes = [BackendProcess(data, env=env, database_url=url) for _ in range(3)]
    # All at once, as systemd starts them: each migrates the new database on start.
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes))
    proxy = await asyncio.to_thread(nginx.Nginx([p.port for p in processes]).start)
    try:
        yield Cluster(postgres_cluster, database, processes, proxy)
    finally:
        for process in processes:
            process.kill()
        proxy.stop()


async def feed(streamer: AudioStreamer, audio: bytes, speed: float) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for count, offset in enumerate(range(0, len(audio), BLOCK), start=1):
        streamer.feed(audio[offset : offset + BLOCK])
        await asyncio.sleep(max(0.0, start + count * 0.1 / speed - loop.time()))


async def test_thirty_kiosks_through_nginx_survive_a_killed_backend_process(
    cluster: Cluster, tmp_path: Path
) -> None:
    api = cluster.api()
    targets = [await asyncio.to_thread(new_interview, api) for _ in range(KIOSKS)]
    assert all(t.ws_url.startswith(f"ws://127.0.0.1:{cluster.nginx.port}/") for t in targets)
    audios = [noise_pcm(6.0, seed=100 + n) for n in range(KIOSKS)]
    streamers = [
        AudioStreamer(
            Spool(tmp_path / f"spool-{n}", SpoolInfo(t.interview_id, t.ws_url, 16000)),
            t.candidate.token,
            f"seat-{n:02d}",
            "test",
        )
        for n, t in enumerate(targets)
    ]
    readies: list[list[int]] = [[] for _ in streamers]
    for streamer, offsets in zip(streamers, readies, strict=True):
        streamer._expect_ready = _recording_ready(streamer._expect_ready, offsets)  # type: ignore[method-assign]
    runners = [asyncio.create_task(s.run()) for s in streamers]
    feeding = asyncio.gather(*(feed(s, a, speed=2) for s, a in zip(streamers, audios, strict=True)))

    # Mid-stream: every kiosk is streaming, nginx spread them, each held by one process.
    while not all(s.acked > 2 * BLOCK for s in streamers):
        await asyncio.sleep(0.05)
    holders = await cluster.holders()
    held_by = {t.interview_id: cluster.holder_of(holders, t.interview_id) for t in targets}
    assert all(held_by.values()), "every streaming interview holds its lock in PostgreSQL"
    # nginx's consistent hash need not split 30 random ids evenly (one process once held 2):
    # the process holding the most is killed, so at least a third of the kiosks must move.
    victim = max(cluster.processes, key=lambda p: list(held_by.values()).count(p))
    moved = [n for n, t in enumerate(targets) if held_by[t.interview_id] is victim]
    assert len(moved) >= KIOSKS // 3, f"{len(moved)} on the busiest process"
    assert len({id(p) for p in held_by.values()}) >= 2, "nginx spreads the interviews"
    acked_at_kill = [s.acked for s in streamers]
    readies_before = [len(offsets) for offsets in readies]
    await asyncio.to_thread(victim.kill)

    await feeding
    completed = await asyncio.wait_for(asyncio.gather(*(s.end() for s in streamers)), 60)
    await asyncio.gather(*runners)

    for n, (streamer, audio, report) in enumerate(zip(streamers, audios, completed, strict=True)):
        assert streamer.state is StreamState.COMPLETED, n
        assert report is not None and report["sha256"] == sha256(audio), n
        assert report["audio_bytes"] == len(audio), n
        recording = victim.recording(targets[n].interview_id).read_bytes()
        assert recording == audio, f"kiosk {n}: the recording differs"
    for n in moved:  # those on the killed process went on through another one...
        assert streamers[n].reconnects >= 1, n
        # ...which resumed from at least every byte acknowledged before the kill (from the
        # killed process's journal: its recordings were not all written yet).
        resumed = readies[n][readies_before[n] :]
        assert resumed and resumed[0] >= acked_at_kill[n], (n, resumed, acked_at_kill[n])
    # The killed process's journal was replayed by a survivor and removed.
    assert victim.proc is not None
    journals = [d.name for d in (victim.data_dir / "journal").iterdir()]
    assert not [name for name in journals if f"-{victim.proc.pid}-" in name], journals


def _recording_ready(expect_ready: Any, offsets: list[int]) -> Any:
    """Wrap a streamer's wait for `ready` to note each ``resume_offset`` it is given."""

    async def wrapped(websocket: Any) -> Any:
        ready = await expect_ready(websocket)
        offsets.append(ready.resume_offset)
        return ready

    return wrapped


async def _stream_until_acked(websocket: websockets.ClientConnection, audio: bytes,
                              start: int) -> int:  # fmt: skip
    for offset in range(start, start + len(audio), BLOCK):
        await websocket.send(frame(offset, audio[offset - start : offset - start + BLOCK]))
    end = start + len(audio)
    while True:
        message = json.loads(await websocket.recv())
        if message["type"] == "ack" and message["offset"] == end:
            return end


async def test_a_second_connection_through_another_process_takes_the_interview_over(
    cluster: Cluster,
) -> None:
    streamed = await cluster.half_streamed(4.0, seed=3)
    target, audio, half, first = streamed.target, streamed.audio, streamed.half, streamed.first
    other = next(p for p in cluster.processes if p is not streamed.holder)

    # Straight to another process, not through nginx (which would send it to the same one).
    second_url = target.ws_url.replace(f":{cluster.nginx.port}/", f":{other.port}/")
    async with websockets.connect(second_url, additional_headers=target.headers) as second:
        await second.send(hello())
        ready = json.loads(await second.recv())
        assert ready["type"] == "ready"
        assert ready["resume_offset"] == half  # everything the first connection had acked
        # The first was closed 4000 by its process, wherever the second one landed.
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(first.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
        holders = await cluster.holders()
        assert cluster.holder_of(holders, target.interview_id) is other
        # An admin's deletion through a process that does not stream it is still refused.
        bystander = next(p for p in cluster.processes if p is not other)
        admin = await asyncio.to_thread(Api(bystander).make_user, Role.ADMIN)  # type: ignore[arg-type]
        refused = await asyncio.to_thread(
            Api(bystander).request,  # type: ignore[arg-type]
            "DELETE", f"/api/v1/candidates/{target.candidate.id}/interviews", admin,
        )  # fmt: skip
        assert refused.status_code == 409, refused.text

        await _stream_until_acked(second, audio[half:], half)
        await second.send(json.dumps({"type": "end"}))
        while (done := json.loads(await second.recv()))["type"] != "completed":
            pass
    with contextlib.suppress(Exception):
        await first.close()
    assert done["sha256"] == sha256(audio)
    assert other.recording(target.interview_id).read_bytes() == audio


async def test_a_process_that_does_not_let_go_gets_the_newcomer_closed_1013(
    cluster: Cluster,
) -> None:
    """A holder that never answers (wedged, or its NOTIFY lost): after 8 s the newcomer is
    told to try again (1013, before `ready`), not left waiting; once free, it streams."""
    target: StreamTarget = await asyncio.to_thread(new_interview, cluster.api())
    wedged = await cluster.database_session()
    try:
        key = lock_key(uuid.UUID(target.interview_id))
        assert await wedged.fetchval("SELECT pg_try_advisory_lock($1)", key)
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with websockets.connect(target.ws_url, additional_headers=target.headers) as ws:
            await ws.send(hello())
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        assert 7 < loop.time() - started < 12  # TAKEOVER_SECONDS is 8
        await wedged.fetchval("SELECT pg_advisory_unlock($1)", key)
    finally:
        await wedged.close()
    async with websockets.connect(target.ws_url, additional_headers=target.headers) as ws:
        await ws.send(hello())
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ready"


async def test_a_process_that_loses_its_database_connection_hands_its_streams_back(
    cluster: Cluster,
) -> None:
    """PostgreSQL frees a session's locks when the session ends (a database restart, an
    administrator's pg_terminate_backend): the process stops streaming those interviews
    with 1012, so the kiosk reconnects and resumes from everything acknowledged."""
    streamed = await cluster.half_streamed(2.0, seed=4)
    target, audio, half, first = streamed.target, streamed.audio, streamed.half, streamed.first
    holder = streamed.holder
    assert holder.proc is not None
    admin = await cluster.database_session()
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1",
            f"interview-backend {holder.proc.pid} streams",
        )
    finally:
        await admin.close()
    assert ended == 1
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(first.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012

    async with websockets.connect(target.ws_url, additional_headers=target.headers) as second:
        await second.send(hello())
        ready = json.loads(await asyncio.wait_for(second.recv(), 10))
        assert ready["resume_offset"] == half
        await _stream_until_acked(second, audio[half:], half)
        await second.send(json.dumps({"type": "end"}))
        while (done := json.loads(await second.recv()))["type"] != "completed":
            pass
    assert done["sha256"] == sha256(audio)


async def test_a_seat_ended_on_one_process_closes_its_stream_on_another(cluster: Cluster) -> None:
    """The seat's control channel and the proctor's console on one process, the candidate's
    stream on another: the session token is refused everywhere (one deny-list in the
    database) and the stream's process closes it 4001 (told through PostgreSQL)."""
    console, streaming, third = cluster.processes
    api = Api(console)  # type: ignore[arg-type]  # a process, not a BackgroundServer
    proctor = await asyncio.to_thread(api.make_user, Role.PROCTOR)
    candidate = await asyncio.to_thread(api.make_user, Role.CANDIDATE)
    credential = await asyncio.to_thread(enroll_kiosk, console.settings, "w-1", "wells")
    await asyncio.to_thread(assign_center, console.settings, proctor.id, "wells")
    launched = await asyncio.to_thread(
        api.request, "POST", "/api/v1/proctor/sessions", proctor,
        json={"candidate_email": candidate.email, "kiosk_id": "w-1"},
    )  # fmt: skip
    at_seat = dataclasses.replace(candidate, token=launched.json()["session_token"])
    target = await asyncio.to_thread(new_interview, api, at_seat)
    stream_url = target.ws_url.replace(f":{console.port}/", f":{streaming.port}/")
    seat = await asyncio.to_thread(
        SeatStub, console.url.replace("http://", "ws://"), "w-1", credential
    )
    try:
        async with websockets.connect(stream_url, additional_headers=at_seat.headers) as ws:
            await ws.send(hello())
            assert json.loads(await ws.recv())["resume_offset"] == 0
            await _stream_until_acked(ws, noise_pcm(0.5, seed=5), 0)
            assert cluster.holder_of(await cluster.holders(), target.interview_id) is streaming
            ended = await asyncio.to_thread(api.request, "POST", "/console/seats/w-1/end", proctor)
            assert ended.status_code == 200, ended.text
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    finally:
        await asyncio.to_thread(seat.close)
    for process in (streaming, third):
        url = stream_url.replace(f":{streaming.port}/", f":{process.port}/")
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url, additional_headers=at_seat.headers)
        assert refused.value.response.status_code == 401
