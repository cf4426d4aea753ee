"""What reaches the disk, and when, seen by strace in real kiosk and backend processes.

A power cut during a network outage must cost the kiosk at most a second of its journal, and
no compaction may leave the journal's new name undurable. The backend acknowledges audio only
once it is durable, the new recording file's name included.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from backend.app.core.config import Settings
from backend.app.server import BackgroundServer
from backend.app.services.streaming.recording import RecordingBusy, RecordingFile
from support.api import Api
from support.proxy import CuttableProxy
from support.strace import (
    FILE_CALLS,
    Syscall,
    read_trace,
    start_traced_backend,
    stop_traced,
    strace_prefix,
)
from support.stream import frame, hello, new_interview, noise_pcm, sha256, write_wav

pytestmark = pytest.mark.asyncio
OUTAGE_SECONDS = 30.0
SYNCS = ("fsync", "fdatasync")


def _syncs_of(calls: list[Syscall], path: str | re.Pattern[str]) -> list[Syscall]:
    def matches(fd_path: str | None) -> bool:
        if fd_path is None:
            return False
        return fd_path == path if isinstance(path, str) else bool(path.fullmatch(fd_path))

    return [call for call in calls if call.name in SYNCS and call.ok and matches(call.fd_path)]


@pytest.mark.slow
async def test_the_kiosk_fsyncs_its_journal_every_second_through_an_outage(
    api: Api, backend_server: BackgroundServer, tmp_path: Path
) -> None:
    target = new_interview(api)
    # 136 s of audio at 4x real time: captured for 34 s, through all of the outage, and past
    # the 4 MB acknowledged at which the journal compacts once the link is back.
    audio = noise_pcm(136.0, seed=13)
    wav = write_wav(tmp_path / "answer.wav", audio)
    spool_dir = (tmp_path / "spool").resolve()
    proxy = await CuttableProxy("127.0.0.1", backend_server.port).start()
    trace = tmp_path / "kiosk.strace"
    kiosk = await asyncio.create_subprocess_exec(
        *strace_prefix(trace), sys.executable, "-m", "kiosk", "stream-file",
        "--interview", target.interview_id, "--token", target.candidate.token,
        "--wav", str(wav), "--backend-url", f"http://127.0.0.1:{proxy.port}",
        "--spool", str(spool_dir), "--speed", "4",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(30):
            while proxy.forwarded_up < 64000:  # streaming: a second of audio went through
                await asyncio.sleep(0.05)
        proxy.go_down()
        down_at = time.time()
        await asyncio.sleep(OUTAGE_SECONDS)
        proxy.come_back()
        up_at = time.time()
        stdout, stderr = await asyncio.wait_for(kiosk.communicate(), 60)
    finally:
        if kiosk.returncode is None:
            kiosk.kill()
            await kiosk.wait()
        await proxy.stop()
    assert kiosk.returncode == 0, stderr.decode()
    report = json.loads(stdout.decode().strip().splitlines()[-1])
    assert report["completed"]["sha256"] == sha256(audio)

    calls = read_trace(trace)
    main_thread = calls[0].tid  # the kiosk's loop
    journal = re.compile(rf"{re.escape(str(spool_dir))}/{target.interview_id}\.\d+\.pcm")
    directory = str(spool_dir)
    journal_syncs = _syncs_of(calls, journal)
    directory_syncs = _syncs_of(calls, directory)

    # Through the outage, nothing captured stays more than a second short of the disk.
    durable_at = [down_at, *(s.done_at for s in journal_syncs if down_at < s.done_at < up_at)]
    gaps = [later - earlier for earlier, later in itertools.pairwise([*durable_at, up_at])]
    print(f"journal fsyncs in the {OUTAGE_SECONDS:.0f} s outage: {len(durable_at) - 1}, "
          f"longest gap {max(gaps):.3f} s, mean {sum(gaps) / len(gaps):.3f} s")  # fmt: skip
    assert max(gaps) <= 1.0
    assert all(s.tid != main_thread for s in journal_syncs), "an fsync ran on the loop"

    # The journal and its metadata file are created durable, names included.
    created = next(c for c in calls if c.name == "openat" and "O_CREAT" in c.args
                   and c.paths and journal.fullmatch(c.paths[0]))  # fmt: skip
    meta_renamed = next(c for c in calls if c.name.startswith("rename") and c.ok
                        and c.paths[-1] == f"{directory}/{target.interview_id}.json")  # fmt: skip
    for made in (meta_renamed, created):
        assert any(s.at >= made.done_at for s in directory_syncs), made

    # Each compaction: the copy fsync'd, renamed into place, the directory fsync'd, and only
    # then the old journal removed; all off the loop.
    renames = [c for c in calls if c.name.startswith("rename") and c.ok
               and journal.fullmatch(c.paths[-1])]  # fmt: skip
    assert renames, "no compaction happened"
    for rename in renames:
        copy, new = rename.paths[-2], rename.paths[-1]
        assert copy == f"{new}.tmp"
        assert rename.tid != main_thread
        assert any(s.done_at <= rename.at for s in _syncs_of(calls, copy))
        synced = next(s for s in directory_syncs if s.at >= rename.done_at)
        old_removed = next(c for c in calls if c.name.startswith("unlink") and c.at > rename.at
                           and journal.fullmatch(c.paths[-1]) and c.paths[-1] != new)  # fmt: skip
        assert synced.done_at <= old_removed.at
    print(f"compactions: {len(renames)}, each followed by a directory fsync")


@pytest.mark.slow
async def test_the_backend_fsyncs_the_recordings_directory_before_the_first_ack(
    tmp_path: Path,
) -> None:
    data_dir, trace = (tmp_path / "data").resolve(), tmp_path / "backend.strace"
    strace, port = await asyncio.to_thread(start_traced_backend, data_dir, trace)
    acks: list[tuple[float, int]] = []  # (received at, offset)
    try:

        class _Remote:  # what Api needs of a server: its URL and settings
            url = f"http://127.0.0.1:{port}"
            settings = Settings(data_dir=data_dir)

        target = await asyncio.to_thread(new_interview, Api(_Remote()))  # type: ignore[arg-type]
        async with connect(target.ws_url, additional_headers=target.headers) as websocket:
            await websocket.send(hello())
            assert json.loads(await websocket.recv())["resume_offset"] == 0
            audio = noise_pcm(1.0)
            for offset in (0, len(audio)):  # two acks: the directory is fsync'd once
                await websocket.send(frame(offset, audio))
                while not acks or acks[-1][1] < offset + len(audio):
                    message = json.loads(await websocket.recv())
                    if message["type"] == "ack":
                        acks.append((time.time(), message["offset"]))
    finally:
        await asyncio.to_thread(stop_traced, strace)

    calls = read_trace(trace)
    recordings = str(data_dir / "recordings")
    created = [c for c in calls if c.name == "openat" and "O_CREAT" in c.args
               and c.paths == [f"{recordings}/{target.interview_id}.pcm"]]  # fmt: skip
    assert len(created) == 1
    directory_syncs = _syncs_of(calls, recordings)
    assert len(directory_syncs) == 1  # once per new file
    synced = directory_syncs[0]
    first_ack_at = next(at for at, offset in acks if offset > 0)
    after_creation = (synced.done_at - created[0].at) * 1000
    before_ack = (first_ack_at - synced.done_at) * 1000
    print(f"recordings/ fsync'd {after_creation:.1f} ms after the file was created, "
          f"{before_ack:.1f} ms before the first ack arrived")  # fmt: skip
    assert created[0].done_at <= synced.at
    assert synced.done_at <= first_ack_at
    assert synced.tid != calls[0].tid, "the directory fsync ran on the event loop"


@pytest.mark.slow
async def test_every_ack_follows_an_fsync_of_the_journal_that_holds_its_audio(
    tmp_path: Path,
) -> None:
    """Event-driven acks keep the contract: for each ack, the journal record of the audio it
    covers was written, and an fdatasync of the journal began after that write and returned
    before the ack arrived. Two seats take turns, one frame in flight at a time, so the first
    journal write after a frame is sent is that frame's."""
    data_dir, trace = (tmp_path / "data").resolve(), tmp_path / "backend.strace"
    calls = (*FILE_CALLS, "pwrite64")
    strace, port = await asyncio.to_thread(start_traced_backend, data_dir, trace, calls)
    timings: list[tuple[float, float]] = []  # (frame sent at, its ack received at)
    try:

        class _Remote:
            url = f"http://127.0.0.1:{port}"
            settings = Settings(data_dir=data_dir)

        api = Api(_Remote())  # type: ignore[arg-type]
        targets = [await asyncio.to_thread(new_interview, api) for _ in range(2)]
        sockets = [await connect(t.ws_url, additional_headers=t.headers) for t in targets]
        audio = noise_pcm(1.5)
        for websocket in sockets:
            await websocket.send(hello())
            assert json.loads(await websocket.recv())["type"] == "ready"
        for index in range(30):
            websocket = sockets[index % 2]
            offset = (index // 2) * 3200
            sent_at = time.time()
            await websocket.send(frame(offset, audio[offset : offset + 3200]))
            while True:
                message = json.loads(await websocket.recv())
                if message["type"] == "ack" and message["offset"] >= offset + 3200:
                    timings.append((sent_at, time.time()))
                    break
        for websocket in sockets:
            await websocket.close()
    finally:
        await asyncio.to_thread(stop_traced, strace)

    journal = re.compile(rf"{re.escape(str(data_dir))}/journal/[^/]+/\d+\.wal")
    traced = read_trace(trace)
    writes = [c for c in traced if c.name == "pwrite64" and c.ok
              and c.fd_path and journal.fullmatch(c.fd_path)]  # fmt: skip
    syncs = _syncs_of(traced, journal)
    assert len(writes) >= 30
    margins = []
    for sent_at, acked_at in timings:
        write = next(w for w in writes if w.at >= sent_at)
        covering = [s for s in syncs if s.at >= write.done_at and s.done_at <= acked_at]
        assert covering, f"an ack at {acked_at} with no journal fsync after the write"
        margins.append((acked_at - write.done_at) * 1000)
        assert all(s.tid != traced[0].tid for s in covering), "an fsync ran on the loop"
    print(f"{len(timings)} acks, each after an fdatasync of its record; write to ack "
          f"median {sorted(margins)[len(margins) // 2]:.1f} ms")  # fmt: skip


async def test_a_reopened_recording_hashes_what_it_held_and_what_arrives_as_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "recordings" / "interview.pcm"
    before, after, meanwhile = (noise_pcm(1.0, seed=seed) for seed in (1, 2, 3))
    recording = RecordingFile(path, 2)
    recording.append(before)
    assert await recording.digest() == sha256(before)  # kept as it was appended
    await recording.sync()
    recording.close()

    reopened = RecordingFile(path, 2)  # a server restart
    reopened.append(after)
    digesting = asyncio.create_task(reopened.digest())
    await asyncio.sleep(0)  # hashing what the file held, on a worker thread
    reopened.append(meanwhile)
    assert await digesting == sha256(before + after + meanwhile)
    reopened.append(b"\x01\x02")
    assert await reopened.digest() == sha256(before + after + meanwhile + b"\x01\x02")
    reopened.close()


async def test_an_open_recording_is_not_opened_by_a_second_stream_until_it_is_closed(
    tmp_path: Path,
) -> None:
    """The fence between a stream that is closing (writing and syncing what it received)
    and the one taking over, in this process or another: the second waits, then sees all."""
    path = tmp_path / "recordings" / "interview.pcm"
    audio = noise_pcm(1.0, seed=6)
    first = RecordingFile(path, 2)
    first.append(audio)  # received, still in memory
    started = time.monotonic()
    with pytest.raises(RecordingBusy):
        RecordingFile(path, 2, wait_seconds=0.2)
    assert time.monotonic() - started >= 0.2  # it waited before giving up
    second = asyncio.create_task(asyncio.to_thread(RecordingFile, path, 2, None, 5.0))
    await asyncio.sleep(0.3)
    assert not second.done()
    await first.sync()
    first.close()
    reopened = await second
    assert reopened.written_end == len(audio)
    reopened.close()
