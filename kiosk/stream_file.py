"""``interview-kiosk stream-file``: stream a WAV at real-time pace with the kiosk's own client,
for IT checks and tests. Run it again after a crash and it resumes from its spool."""

from __future__ import annotations

import asyncio
import json
import sys
import wave
from pathlib import Path

from kiosk import __version__
from kiosk.core.errors import StreamError
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer

BLOCK_SECONDS = 0.02


def ws_url_for(backend_url: str, interview_id: str) -> str:
    scheme, _, rest = backend_url.rstrip("/").partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws/interviews/{interview_id}"


async def stream_file(
    backend_url: str,
    interview_id: str,
    token: str,
    wav_path: Path,
    spool_dir: Path,
    speed: float = 1.0,
    kiosk_id: str = "stream-file",
) -> int:
    with wave.open(str(wav_path)) as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            print("stream-file: the WAV must be mono 16-bit PCM", file=sys.stderr)
            return 2
        rate = wav.getframerate()
        audio = wav.readframes(wav.getnframes())
    spool = Spool(spool_dir, SpoolInfo(interview_id, ws_url_for(backend_url, interview_id), rate))
    streamer = AudioStreamer(spool, token, kiosk_id, __version__)
    block = int(rate * BLOCK_SECONDS) * 2
    loop = asyncio.get_running_loop()
    runner = asyncio.create_task(streamer.run())
    started = loop.time()
    # After a restart the spool already holds the start of the file: continue after it.
    for count, position in enumerate(range(streamer.captured_end, len(audio), block), start=1):
        streamer.feed(audio[position : position + block])
        await asyncio.sleep(max(0.0, started + count * BLOCK_SECONDS / speed - loop.time()))
        if runner.done():
            break
    try:
        completed = await streamer.end()
        await runner
    except StreamError as exc:
        print(f"stream-file: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"completed": completed, "reconnects": streamer.reconnects}), flush=True)
    return 0
