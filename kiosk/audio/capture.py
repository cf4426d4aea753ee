"""Microphone capture. The PortAudio callback runs on its own thread and does one thing:
copy the block and hand it to the event loop. Everything else happens on the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kiosk.audio.devices import _sounddevice
from kiosk.core.errors import AudioDeviceError

SAMPLE_RATE = 16000
BLOCK_FRAMES = 320  # 20 ms


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
        self._stream: Any = None
        self.overflows = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        sd = _sounddevice()
        deliver = self._on_block

        def callback(indata: Any, _frames: int, _time: Any, status: Any) -> None:
            if status.input_overflow:
                self.overflows += 1
            loop.call_soon_threadsafe(deliver, bytes(indata))

        try:
            self._stream = sd.RawInputStream(
                samplerate=self.sample_rate, channels=1, dtype="int16",
                blocksize=BLOCK_FRAMES, latency="low", device=self._device, callback=callback,
            )  # fmt: skip
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            # PortAudio with no input device says "Error querying device -1"; a device that
            # was unplugged raises ValueError. Either way there is no microphone to use.
            self._stream = None
            raise AudioDeviceError(f"cannot open the microphone: {exc}") from exc

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
