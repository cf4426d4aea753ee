"""The audio journal (backend/app/services/streaming/journal.py): one fdatasync makes every
seat's audio durable, and after a power cut a later process rebuilds every recording from
the journal of the one that is gone.

A power cut is simulated as the page cache it loses: after the process holding the journal
stops without closing it, each recording is cut back to what its last checkpoint fsync'd (or
anywhere after that), and the journal's tail may hold a torn record. Every byte the journal
acknowledged must be in the recording after recovery, byte for byte.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import random
import threading
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.app.services.streaming.journal import (
    LOCK_NAME,
    MAX_QUEUED_CHECKPOINTS,
    RECORD,
    Journal,
    _records,
)
from backend.app.services.streaming.recording import RecordingFile, recording_path
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer
from support.api import Api
from support.backend_process import BackendProcess
from support.stream import new_interview, noise_pcm, sha256

SEGMENT = 64 << 10  # small, so a few seconds of audio fill, recycle and checkpoint several


class _Seat:
    """One interview's stream as the session drives it: recording first, then the journal."""

    def __init__(self, journal: Journal, data_dir: Path, seed: int) -> None:
        self.id = uuid.uuid4()
        self.journal = journal
        self.recording = RecordingFile(recording_path(data_dir, self.id), 2, journal.writer)
        self.audio = noise_pcm(20.0, seed=seed)
        self.durable = 0

    def on_durable(self, offset: int) -> None:
        assert offset >= self.durable  # acks never go back
        self.durable = offset

    def send(self, size: int) -> int:
        offset = self.recording.written_end
        data = self.audio[offset : offset + size]
        self.recording.append(data)
        return self.journal.append(self, self.recording, self.id, offset, data)


def _die(journal: Journal) -> None:
    """The process is gone: its threads stop, its lock is released, nothing is closed."""
    assert journal._committer is not None
    journal._committer.cancel()
    journal._sync_thread.shutdown(wait=True)
    journal._checkpoint_thread.shutdown(wait=True)
    assert journal._lock_fd is not None
    os.close(journal._lock_fd)


def _power_cut(journal_dir: Path, seats: list[_Seat], rng: random.Random) -> None:
    """Lose what no fsync covered: each recording keeps what a checkpoint fsync'd (everything
    before its first record left in the journal) and maybe some more."""
    first_left: dict[bytes, int] = {}
    for segment in sorted(journal_dir.glob("*.wal")):
        for interview, offset, _data in _records(segment, int(segment.stem)):
            first_left.setdefault(interview, offset)
    for seat in seats:
        seat.recording.close()
        path = seat.recording.path
        size = path.stat().st_size
        floor = first_left.get(seat.id.bytes, size)
        kept = rng.randint(floor, size)
        kept -= kept % 2
        os.truncate(path, max(floor, kept))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    frames=st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 1600).map(lambda n: n * 2), st.booleans()),
        min_size=1,
        max_size=120,
    ),
    cut_seed=st.integers(0, 2**32 - 1),
    torn=st.booleans(),
)
def test_a_power_cut_at_any_point_loses_no_acknowledged_byte(
    tmp_path_factory: pytest.TempPathFactory,
    frames: list[tuple[int, int, bool]],
    cut_seed: int,
    torn: bool,
) -> None:
    data_dir = tmp_path_factory.mktemp("data")

    async def scenario() -> list[_Seat]:
        journal = Journal(data_dir, SEGMENT)
        await journal.open()
        seats = [_Seat(journal, data_dir, seed) for seed in range(4)]
        for seat_index, size, wait in frames:
            seat = seats[seat_index]
            position = seat.send(size)
            if wait:  # the session awaits its ack (answer_done); otherwise frames pile up
                await journal.wait_durable(position)
            else:
                await asyncio.sleep(0)
        await asyncio.sleep(0)
        _die(journal)
        rng = random.Random(cut_seed)
        _power_cut(journal.directory, seats, rng)
        if torn:
            newest = max(journal.directory.glob("*.wal"))
            with newest.open("r+b") as handle:
                # A record header cut short where the next one would go (a crash mid-write).
                end = _end_of_records(newest)
                handle.seek(end)
                handle.write(RECORD.pack(b"IKJ1", int(newest.stem), end, seats[0].id.bytes,
                                         seats[0].durable, 3200, 0)[:-5])  # fmt: skip
        # The next process to start replays the dead one's journal.
        successor = Journal(data_dir, SEGMENT)
        await successor.open()
        await successor.close()
        return seats

    seats = asyncio.run(scenario())
    assert not [p for p in (data_dir / "journal").iterdir()], "the dead journal was not removed"
    for seat in seats:
        held = recording_path(data_dir, seat.id).read_bytes()
        assert held[: seat.durable] == seat.audio[: seat.durable]


async def _feed(streamer: AudioStreamer, audio: bytes, speed: float) -> None:
    """100 ms blocks at ``speed`` times real time, as the kiosk's capture delivers them."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for count, offset in enumerate(range(0, len(audio), 3200), start=1):
        streamer.feed(audio[offset : offset + 3200])
        await asyncio.sleep(max(0.0, start + count * 0.1 / speed - loop.time()))


def _end_of_records(segment: Path) -> int:
    end = 0
    for _interview, _offset, data in _records(segment, int(segment.stem)):
        end += RECORD.size + len(data)
    return end


@pytest.mark.asyncio
async def test_segments_fill_are_checkpointed_and_recycled(tmp_path: Path) -> None:
    journal = Journal(tmp_path, SEGMENT)
    await journal.open()
    seat = _Seat(journal, tmp_path, seed=1)
    for _ in range(100):  # 320 KB: five segments
        await journal.wait_durable(seat.send(3200))
    for _ in range(50):  # let the checkpoint thread catch up
        names = sorted(p.name for p in journal.directory.iterdir())
        if len([n for n in names if n.endswith(".wal")]) <= 2:
            break
        await asyncio.sleep(0.02)
    print(names)
    # The current segment, at most one spare being made, at most one kept to recycle.
    assert len([n for n in names if n.endswith(".wal")]) <= 2
    assert len([n for n in names if n.endswith(".free")]) <= 1
    assert seat.durable == 320000
    await seat.recording.sync()  # as a stream closing
    seat.recording.close()
    await journal.close()
    assert not (tmp_path / "journal" / journal.directory.name).exists()
    assert recording_path(tmp_path, seat.id).read_bytes() == seat.audio[:320000]


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.asyncio
async def test_a_writer_behind_on_checkpoints_does_not_run_out_of_descriptors(
    tmp_path: Path,
) -> None:
    """Overload as at 1,200 seats: segments fill faster than their checkpoints (an fsync per
    recording) finish. Each queued checkpoint holds a descriptor per recording, so the queue
    is bounded; the journal keeps acking meanwhile, and every recording comes out whole."""
    journal = Journal(tmp_path, SEGMENT)
    await journal.open()
    seats = [_Seat(journal, tmp_path, seed=10 + i) for i in range(40)]
    before = _open_descriptors()
    stall = threading.Event()
    journal.writer.submit(stall.wait, 30)  # the writer is busy: nothing it is handed runs
    try:
        for _ in range(25):  # 40 seats x 25 x 3,200 bytes: 50 segments of 64 KiB sealed
            await asyncio.gather(*(journal.wait_durable(seat.send(3200)) for seat in seats))
        assert all(seat.durable == 80000 for seat in seats)  # acks never waited for the writer
        assert len(journal._checkpoints) <= MAX_QUEUED_CHECKPOINTS
        # Descriptors: at most two checkpoints' worth (one per recording each) and one per
        # waiting segment, where an unbounded queue held one per recording per sealed
        # segment (about 2,000 here).
        waiting = len(journal._sealed)
        assert waiting > 10  # the rest wait, sealed and durable
        held = _open_descriptors() - before
        assert held <= MAX_QUEUED_CHECKPOINTS * len(seats) + waiting + 8, (held, waiting)
    finally:
        stall.set()
    for seat in seats:
        await seat.recording.sync()
        seat.recording.close()
    await journal.close()
    for seat in seats:
        assert recording_path(tmp_path, seat.id).read_bytes() == seat.audio[:80000]


@pytest.mark.asyncio
async def test_a_checkpoint_never_takes_a_segment_whose_commit_is_still_in_flight(
    tmp_path: Path,
) -> None:
    """A commit takes a segment's records before its fdatasync; a checkpoint finishing in
    that window must not take the segment (it would close its descriptor under the commit)."""
    journal = Journal(tmp_path, SEGMENT)
    await journal.open()
    seats = [_Seat(journal, tmp_path, seed=60 + i) for i in range(4)]
    writer_free, sync_free = threading.Event(), threading.Event()
    journal.writer.submit(writer_free.wait, 30)
    try:
        for _ in range(20):  # four segments sealed, durable, their checkpoints held up
            await asyncio.gather(*(journal.wait_durable(seat.send(3200)) for seat in seats))
        assert journal._sealed and len(journal._checkpoints) == MAX_QUEUED_CHECKPOINTS
        journal._sync_thread.submit(sync_free.wait, 30)  # the next commit's fdatasync waits
        # Enough to seal another segment: the commit takes its records, then waits.
        positions = [seat.send(3200) for seat in seats for _ in range(6)]
        committing = asyncio.ensure_future(journal.wait_durable(max(positions)))
        await asyncio.sleep(0.1)
        assert journal._committing
        writer_free.set()  # the held checkpoints finish during the commit
        await asyncio.sleep(0.3)
        assert journal._failed is None
    finally:
        writer_free.set()
        sync_free.set()
    await committing
    for seat in seats:
        await seat.recording.sync()
        seat.recording.close()
    await journal.close()
    assert journal._failed is None
    for seat in seats:
        end = seat.recording.written_end
        assert recording_path(tmp_path, seat.id).read_bytes() == seat.audio[:end]


@pytest.mark.asyncio
async def test_a_live_process_journal_is_left_alone(tmp_path: Path) -> None:
    live = Journal(tmp_path, SEGMENT)
    await live.open()
    seat = _Seat(live, tmp_path, seed=2)
    await live.wait_durable(seat.send(6400))
    other = Journal(tmp_path, SEGMENT)
    await other.open()  # recovers what is dead: nothing
    assert (live.directory / LOCK_NAME).exists()
    assert any(live.directory.glob("*.wal"))
    with (live.directory / LOCK_NAME).open() as lock, pytest.raises(BlockingIOError):
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    seat.recording.close()
    await other.close()
    await live.close()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_backend_killed_then_a_power_cut_resumes_every_acknowledged_byte(
    tmp_path: Path,
) -> None:
    """A real backend process streams two seats and is SIGKILLed; the recordings are cut back
    as a power cut would leave them; the restarted backend replays the journal and each seat
    resumes from an offset no lower than its last ack, and completes byte-identical."""
    data_dir = tmp_path / "data"
    env = {"IK_JOURNAL_SEGMENT_BYTES": str(SEGMENT)}
    backend = await asyncio.to_thread(BackendProcess(data_dir, env=env).start)
    try:
        api = Api(backend)  # type: ignore[arg-type]  # a process, not a BackgroundServer
        targets = [await asyncio.to_thread(new_interview, api) for _ in range(2)]
        streamers, audios = [], []
        for index, target in enumerate(targets):
            spool = Spool(tmp_path / f"spool{index}",
                          SpoolInfo(target.interview_id, target.ws_url, 16000))  # fmt: skip
            streamers.append(AudioStreamer(spool, target.candidate.token, f"k{index}", "test"))
            audios.append(noise_pcm(12.0, seed=40 + index))
        runners = [asyncio.create_task(s.run()) for s in streamers]

        async def cut() -> None:
            await asyncio.sleep(1.2)
            acked = [s.acked for s in streamers]
            assert min(acked) > 0
            await asyncio.to_thread(backend.kill)
            # What the page cache would lose: each recording back to its first record still
            # in the journal (everything before it was fsync'd by a checkpoint).
            first_left: dict[bytes, int] = {}
            for segment in sorted((data_dir / "journal").glob("*/*.wal")):
                for interview, offset, _data in _records(segment, int(segment.stem)):
                    first_left.setdefault(interview, offset)
            for target, was_acked in zip(targets, acked, strict=True):
                path = backend.recording(target.interview_id)
                floor = first_left.get(uuid.UUID(target.interview_id).bytes)
                assert floor is not None and floor < was_acked, "nothing left to replay"
                os.truncate(path, floor)
            await asyncio.to_thread(backend.start)
            for target, was_acked, audio in zip(targets, acked, audios, strict=True):
                held = backend.recording(target.interview_id).read_bytes()
                assert held[:was_acked] == audio[:was_acked]  # replayed before any stream

        feeds = [_feed(s, a, speed=4) for s, a in zip(streamers, audios, strict=True)]
        await asyncio.gather(*feeds, cut())
        for streamer, runner, audio in zip(streamers, runners, audios, strict=True):
            completed = await asyncio.wait_for(streamer.end(), 30)
            await runner
            assert completed is not None and completed["sha256"] == sha256(audio)
    finally:
        backend.kill()
