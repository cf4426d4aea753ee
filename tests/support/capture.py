"""A microphone for tests about everything but the microphone (network, idle, crashes).

It stands in for ``kiosk.audio.capture.MicrophoneCapture`` through the flow's capture factory:
20 ms blocks of seeded noise at a chosen level, paced by the event loop, and it keeps every
block it delivered so a test can compare the server's recording byte for byte.
"""

from __future__ import annotations

import asyncio
import random
from array import array
from collections.abc import Callable

BLOCK_SAMPLES = 320  # 20 ms at 16 kHz
# Peak amplitudes: "speech" sits near -15 dBFS, "hiss" near -70 dBFS (below voice activity).
SPEECH, HISS = 8000, 10


class SyntheticMic:
    """The factory: ``SyntheticMic()(on_block, device)`` -> a capture, as the flow expects."""

    def __init__(self, seed: int = 7) -> None:
        self.amplitude = SPEECH
        self.captures: list[bytearray] = []  # one per started capture, in order
        self._rng = random.Random(seed)

    def __call__(self, on_block: Callable[[bytes], None], device: int | None) -> _Capture:
        return _Capture(self, on_block)

    def block(self) -> bytes:
        a = self.amplitude
        return array("h", (self._rng.randint(-a, a) for _ in range(BLOCK_SAMPLES))).tobytes()


class _Capture:
    def __init__(self, mic: SyntheticMic, on_block: Callable[[bytes], None]) -> None:
        self._mic = mic
        self._on_block = on_block
        self._task: asyncio.Task[None] | None = None
        self.delivered = bytearray()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._mic.captures.append(self.delivered)
        self._task = loop.create_task(self._run())

    async def _run(self) -> None:
        while True:
            block = self._mic.block()
            self.delivered.extend(block)
            self._on_block(block)
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
