"""End to end: speech played into the virtual microphone is captured by sounddevice, streamed
by the AudioStreamer, and the WAV the backend serves contains it."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

import numpy as np
import pytest

from kiosk.audio.capture import MicrophoneCapture
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer
from support.api import Api
from support.audio import best_alignment, read_pcm16, synthesize_speech
from support.stream import new_interview
from support.vmic import VirtualMic

pytestmark = [pytest.mark.asyncio, pytest.mark.vmic]


async def test_spoken_answer_reaches_the_recording(
    api: Api, virtual_mic: VirtualMic, tmp_path: Path
) -> None:
    speech = synthesize_speech("I led the migration of our billing system to Kubernetes.",
                               tmp_path / "answer.wav")  # fmt: skip
    source = read_pcm16(speech)
    target = new_interview(api)
    spool = Spool(tmp_path / "spool", SpoolInfo(target.interview_id, target.ws_url, 16000))
    streamer = AudioStreamer(spool, target.candidate.token, "vmic-kiosk", "test")
    runner = asyncio.create_task(streamer.run())
    capture = MicrophoneCapture(streamer.feed)
    capture.start(asyncio.get_running_loop())
    try:
        await asyncio.sleep(0.3)
        player = virtual_mic.feed(speech)
        await asyncio.to_thread(player.wait, 30)
        await asyncio.sleep(0.5)
    finally:
        capture.stop()
    completed = await asyncio.wait_for(streamer.end(), 20)
    await runner
    assert completed is not None

    wav = api.request(
        "GET", f"/api/v1/interviews/{target.interview_id}/recording", target.candidate
    )
    with wave.open(io.BytesIO(wav.content)) as served:
        assert served.getframerate() == 16000 and served.getnchannels() == 1
        recorded = np.frombuffer(served.readframes(served.getnframes()), dtype=np.int16)
    assert len(recorded) * 2 == completed["audio_bytes"]
    lag, ncc = best_alignment(recorded, source)
    assert ncc >= 0.99, f"normalized cross-correlation {ncc:.4f} at lag {lag}"
