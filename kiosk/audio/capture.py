"""Microphone capture. The PortAudio callback runs on its own thread and does one thing:
copy the block and hand it to the event loop. Everything else happens on the loop.

Opening and closing a PortAudio stream talks to the sound server and waits for the callback
thread (3-30 ms measured, more on a busy machine), so it happens on one audio thread of its
own, never on the caller's (the kiosk's GUI thread). Operations run there in order, so a
close and the next open of the same device never overlap. ``start`` still checks at once
that an input device exists, so a seat without a microphone is told immediately.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog

from kiosk.audio.devices import _sounddevice
from kiosk.core.errors import AudioDeviceError

logger = structlog.get_logger(__name__)

SAMPLE_RATE = 16000
BLOCK_FRAMES = 320  # 20 ms
_AUDIO_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audio-device")


class MicrophoneCapture:
    def __init__(
        self,
        on_block: Callable[[bytes], None],
        device: int | None = None,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        self._on_block = on_block
        self._device = device
        self.sample_rate = sample_rate
        self._stream: Any = None  # touched only on the audio thread
        self._stopped = False
        self.overflows = 0
        self.error: str | None = None  # why the stream could not open, if it could not

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        sd = _sounddevice()
        try:
            # PortAudio's device list is read once at start-up: this does not block.
            sd.query_devices(self._device, kind="input")
        except (sd.PortAudioError, ValueError) as exc:
            # No input device at all says "Error querying device -1"; a device index that
            # is gone raises ValueError. Either way there is no microphone to use.
            raise AudioDeviceError(f"cannot open the microphone: {exc}") from exc
        deliver = self._on_block

        def callback(indata: Any, _frames: int, _time: Any, status: Any) -> None:
            if status.input_overflow:
                self.overflows += 1
            if not self._stopped:
                loop.call_soon_threadsafe(deliver, bytes(indata))

        def open_stream() -> None:
            if self._stopped:
                return
            try:
                stream = sd.RawInputStream(
                    samplerate=self.sample_rate, channels=1, dtype="int16",
                    blocksize=BLOCK_FRAMES, latency="low", device=self._device,
                    callback=callback,
                )  # fmt: skip
                stream.start()
            except (sd.PortAudioError, ValueError) as exc:
                self.error = str(exc)
                logger.warning("microphone_open_failed", device=self._device, error=str(exc))
                return
            self._stream = stream

        _AUDIO_THREAD.submit(open_stream)

    def stop(self) -> None:
        """Returns at once; the stream closes on the audio thread. Blocks already captured
        may still arrive on the loop afterwards."""
        self._stopped = True

        def close_stream() -> None:
            if self._stream is not None:
                self._stream.stop()
                self._stream.close()
                self._stream = None

        _AUDIO_THREAD.submit(close_stream)
