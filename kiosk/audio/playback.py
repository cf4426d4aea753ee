"""Playing a sound on the seat's output device (a question read aloud).

The PortAudio callback runs on its own thread and only copies the next samples out of a
buffer it was given whole. Opening and closing the stream happen on the same audio thread
as the microphone's (``capture._AUDIO_THREAD``), so a playback and a capture never open or
close the device at the same time, and the caller (the GUI thread) never waits on the sound
server.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from kiosk.audio.capture import _AUDIO_THREAD
from kiosk.audio.devices import _sounddevice
from kiosk.core.errors import AudioDeviceError

logger = structlog.get_logger(__name__)

SAMPLE_BYTES = 2  # int16, mono
# Half a second of buffer: a question is not a conversation, and on a busy 2-core machine the
# callback (which needs the GIL) was measured missing its turn for 15 ms with the default,
# which the candidate hears as a gap.
LATENCY_SECONDS = 0.5
# Silence played after the sound: a stream closed as soon as PortAudio says the end has been
# played was measured losing the last 0.1 s (the sound server still held it). The close now
# costs only this padding.
TAIL_SECONDS = 0.3


class SpeakerPlayback:
    """One sound at a time on one output device (None: the system's default)."""

    def __init__(self, device: int | None = None) -> None:
        self._device = device
        self._playing: _Playing | None = None
        self.underflows = 0  # over every play: gaps the candidate heard

    async def play(self, pcm: bytes, rate: int) -> None:
        """Play mono int16 ``pcm`` at ``rate`` Hz; returns when the last sample has been
        handed to the device, or at once after ``stop``. A sound playing already is
        stopped first.

        Raises:
            AudioDeviceError: there is no output device, or it cannot be opened.
        """
        self.stop()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        playing = self._playing = _Playing(done)
        sd = _sounddevice()
        buffer = memoryview(pcm + bytes(int(TAIL_SECONDS * rate) * SAMPLE_BYTES))
        position = 0

        def finish(error: BaseException | None = None) -> None:
            if done.done():
                return
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

        def callback(outdata: Any, frames: int, _time: Any, status: Any) -> None:
            nonlocal position
            if status.output_underflow:
                playing.underflows += 1
            wanted = frames * SAMPLE_BYTES
            chunk = buffer[position : position + wanted]
            position += len(chunk)
            outdata[: len(chunk)] = chunk
            if len(chunk) < wanted:
                outdata[len(chunk) :] = b"\x00" * (wanted - len(chunk))
            if playing.stopped:
                raise sd.CallbackAbort
            if position >= len(buffer):
                raise sd.CallbackStop  # what is in the device's buffers still plays

        def finished() -> None:  # on PortAudio's thread; must return None
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(finish)

        def open_stream() -> None:
            if playing.stopped:
                return
            stream = None
            try:
                stream = sd.RawOutputStream(
                    samplerate=rate, channels=1, dtype="int16", device=self._device,
                    callback=callback, finished_callback=finished, latency=LATENCY_SECONDS,
                )  # fmt: skip
                stream.start()
            except Exception as exc:  # any failure here must end the wait
                logger.warning("speaker_open_failed", device=self._device, error=str(exc))
                if stream is not None:  # created, but would not start
                    with contextlib.suppress(Exception):
                        stream.close()
                error = AudioDeviceError(f"cannot play on the speaker: {exc}")
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits
                    loop.call_soon_threadsafe(finish, error)
                return
            playing.stream = stream

        _AUDIO_THREAD.submit(open_stream)
        try:
            await done
            if not playing.stopped and playing.stream is not None:
                # Handed over is not heard yet: the device still holds its latency's worth.
                await asyncio.sleep(float(playing.stream.latency))
        finally:
            playing.close()
            if playing.underflows:  # a gap in what the candidate heard: the machine is busy
                self.underflows += playing.underflows
                logger.warning("speaker_underflows", count=playing.underflows)
            if self._playing is playing:
                self._playing = None

    def stop(self) -> None:
        """Stop what is playing; its ``play`` returns. Returns at once."""
        playing, self._playing = self._playing, None
        if playing is not None:
            if not playing.done.done():
                playing.done.set_result(None)
            playing.close()


class _Playing:
    """One ``play``: its stream is opened and closed on the audio thread, in that order, so
    closing one sound never closes the next."""

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.stopped = False
        self.underflows = 0
        self.stream: Any = None  # touched only on the audio thread

    def close(self) -> None:
        self.stopped = True

        def close_stream() -> None:
            if self.stream is not None:
                self.stream.close()  # an active stream is aborted: what is queued is dropped
                self.stream = None

        _AUDIO_THREAD.submit(close_stream)
