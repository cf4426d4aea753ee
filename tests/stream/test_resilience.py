"""The kiosk's AudioStreamer loses nothing: through cut connections, a killed server and a
killed kiosk, the server's recording ends byte-identical to what was captured."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from backend.app.server import BackgroundServer
from kiosk.core.errors import StreamError
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer, StreamState
from support.api import Api
from support.backend_process import BackendProcess
from support.proxy import CuttableProxy
from support.stream import new_interview, noise_pcm, sha256, write_wav

pytestmark = pytest.mark.asyncio
BLOCK = 640  # 20 ms of 16 kHz mono int16


async def feed(streamer: AudioStreamer, audio: bytes, speed: float) -> None:
    """Feed 20 ms blocks at ``speed`` times real time, as the capture callback would."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for count, offset in enumerate(range(0, len(audio), BLOCK), start=1):
        streamer.feed(audio[offset : offset + BLOCK])
        await asyncio.sleep(max(0.0, start + count * 0.02 / speed - loop.time()))


async def test_sixty_seconds_through_five_cuts_is_byte_identical(
    api: Api, backend_server: BackgroundServer, tmp_path: Path
) -> None:
    target = new_interview(api)
    proxy = await CuttableProxy("127.0.0.1", backend_server.port).start()
    ws_url = target.ws_url.replace(f":{backend_server.port}/", f":{proxy.port}/")
    spool = Spool(tmp_path / "spool", SpoolInfo(target.interview_id, ws_url, 16000))
    streamer = AudioStreamer(spool, target.candidate.token, "kiosk-1", "test")
    audio = noise_pcm(60.0)
    runner = asyncio.create_task(streamer.run())

    async def cut_at_random_moments() -> list[float]:
        moments = sorted(random.Random(11).uniform(0.3, 5.5) for _ in range(5))
        loop = asyncio.get_running_loop()
        start = loop.time()
        for moment in moments:
            await asyncio.sleep(max(0.0, start + moment - loop.time()))
            # Cut a live link, not one already cut that the client has yet to notice.
            while streamer.state is not StreamState.STREAMING or not proxy.connections:
                await asyncio.sleep(0.01)
            proxy.cut()
        return moments

    # 60 s of audio at 10x real time: the cuts land while audio is flowing.
    await asyncio.gather(feed(streamer, audio, speed=10), cut_at_random_moments())
    completed = await asyncio.wait_for(streamer.end(), 30)
    await runner
    await proxy.stop()

    assert proxy.cuts >= 5
    assert streamer.reconnects >= 5
    assert completed is not None
    assert completed["audio_bytes"] == len(audio)  # nothing duplicated, nothing missing
    assert completed["sha256"] == sha256(audio)
    assert streamer.state is StreamState.COMPLETED
    assert not list((tmp_path / "spool").iterdir())  # the journal is gone once complete


async def test_server_killed_twice_mid_stream_loses_nothing_acknowledged(tmp_path: Path) -> None:
    backend = await asyncio.to_thread(BackendProcess(tmp_path / "data").start)
    try:
        api = Api(backend)  # type: ignore[arg-type]  # a process, not a BackgroundServer
        target = await asyncio.to_thread(new_interview, api)
        spool = Spool(tmp_path / "spool", SpoolInfo(target.interview_id, target.ws_url, 16000))
        streamer = AudioStreamer(spool, target.candidate.token, "kiosk-1", "test")
        audio = noise_pcm(20.0, seed=5)
        runner = asyncio.create_task(streamer.run())
        recording = backend.recording(target.interview_id)

        async def kill_and_restart(after: float) -> None:
            await asyncio.sleep(after)
            acked_before = streamer.acked
            assert acked_before > 0
            await asyncio.to_thread(backend.kill)
            await asyncio.sleep(0.5)  # the kiosk keeps capturing while the server is down
            # Every acknowledged byte survived the kill: in the recording, or in the journal
            # the restarted backend replays into it before it answers /health.
            await asyncio.to_thread(backend.start)
            assert recording.stat().st_size >= acked_before
            assert recording.read_bytes()[:acked_before] == audio[:acked_before]

        async def two_kills() -> None:
            await kill_and_restart(1.0)
            await kill_and_restart(1.0)

        await asyncio.gather(feed(streamer, audio, speed=5), two_kills())
        completed = await asyncio.wait_for(streamer.end(), 30)
        await runner
        assert completed is not None
        assert completed["sha256"] == sha256(audio)
        assert streamer.reconnects >= 2
    finally:
        backend.kill()


async def test_kiosk_killed_mid_stream_resumes_from_its_spool(
    api: Api, backend_server: BackgroundServer, tmp_path: Path
) -> None:
    target = new_interview(api)
    audio = noise_pcm(8.0, seed=9)
    wav = write_wav(tmp_path / "answer.wav", audio)
    command = [
        sys.executable, "-m", "kiosk", "stream-file", "--interview", target.interview_id,
        "--token", target.candidate.token, "--wav", str(wav), "--backend-url", backend_server.url,
        "--spool", str(tmp_path / "spool"), "--speed", "4",
    ]  # fmt: skip
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    await asyncio.sleep(1.5)
    first.send_signal(signal.SIGKILL)
    await asyncio.to_thread(first.wait)
    journals = list((tmp_path / "spool").glob("*.pcm"))
    assert journals and journals[0].stat().st_size > 0  # it had captured audio

    second = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout.strip().splitlines()[-1])
    assert report["completed"]["sha256"] == sha256(audio)
    assert report["completed"]["audio_bytes"] == len(audio)


async def test_refusals_that_a_retry_cannot_fix_fail_clearly(api: Api, tmp_path: Path) -> None:
    target = new_interview(api)
    spool = Spool(tmp_path / "spool", SpoolInfo(target.interview_id, target.ws_url, 16000))
    streamer = AudioStreamer(spool, "not-a-token")
    with pytest.raises(StreamError, match=r"token was refused .*\(HTTP 401\)"):
        await asyncio.wait_for(streamer.run(), 10)
    assert streamer.state is StreamState.FAILED
    assert streamer.reconnects == 0


async def test_audio_that_stops_short_of_a_frame_is_still_sent_and_acked(
    api: Api, backend_server: BackgroundServer, tmp_path: Path
) -> None:
    """Blocks are sent as 100 ms frames; when capture stops (a pause) with less than a
    frame waiting, that part goes out after a frame's time instead of waiting for more."""
    target = new_interview(api)
    spool = Spool(tmp_path / "spool", SpoolInfo(target.interview_id, target.ws_url, 16000))
    streamer = AudioStreamer(spool, target.candidate.token, "kiosk-1", "test")
    runner = asyncio.create_task(streamer.run())
    await asyncio.wait_for(streamer.wait_ready(), 10)
    audio = noise_pcm(0.26, seed=12)  # two frames and three blocks
    await feed(streamer, audio, speed=1)  # as captured: a frame goes when it is full
    async with asyncio.timeout(5):  # without the flush: never, until `end`
        while streamer.acked < len(audio):
            await asyncio.sleep(0.02)
    completed = await asyncio.wait_for(streamer.end(), 10)
    await runner
    assert completed is not None and completed["sha256"] == sha256(audio)
