"""Helpers for fault-injection tests: capture fed at a chosen pace, the streamer's backlog
sampled over time, many interviews at once, and errors the server logged meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from kiosk.core.streamer import AudioStreamer
from support.api import Api
from support.stream import StreamTarget, new_interview

BLOCK = 640  # 20 ms of 16 kHz mono int16, the kiosk's capture block
BYTES_PER_SECOND = 32000


class Capture:
    """A microphone made of ``audio``: feeds it to streamers block by block, at ``speed``
    times real time, and remembers how much it fed (the recording must equal ``fed``)."""

    def __init__(self, audio: bytes) -> None:
        self.audio = audio
        self.position = 0

    @property
    def fed(self) -> bytes:
        return self.audio[: self.position]

    async def feed(
        self,
        streamer: AudioStreamer,
        seconds: float | None,
        speed: float = 1.0,
        until: Callable[[], bool] | None = None,
    ) -> None:
        """Feed ``seconds`` of audio (None: until ``until()`` holds or the audio runs out).
        Paced against the clock, not by sleeping a fixed step, so the rate holds on a busy
        machine (a late block is followed at once by the next, as a sound card would)."""
        stop = len(self.audio) if seconds is None else self.position + int(seconds * 16000) * 2
        stop = min(stop, len(self.audio))
        loop = asyncio.get_running_loop()
        start, count = loop.time(), 0
        while self.position < stop and not (until is not None and until()):
            block = self.audio[self.position : self.position + BLOCK]
            streamer.feed(block)
            self.position += len(block)
            count += 1
            await asyncio.sleep(max(0.0, start + count * 0.02 / speed - loop.time()))


@dataclass
class BacklogSamples:
    """``streamer.unacked_seconds`` every ``interval`` seconds, with the loop time of each."""

    samples: list[tuple[float, float]] = field(default_factory=list)

    def between(self, start: float, end: float) -> list[float]:
        return [value for at, value in self.samples if start <= at <= end]


@contextlib.asynccontextmanager
async def sample_backlog(
    streamer: AudioStreamer, interval: float = 0.05
) -> AsyncIterator[BacklogSamples]:
    recorded = BacklogSamples()
    loop = asyncio.get_running_loop()

    async def sample() -> None:
        while True:
            recorded.samples.append((loop.time(), streamer.unacked_seconds))
            await asyncio.sleep(interval)

    task = asyncio.create_task(sample())
    try:
        yield recorded
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        recorded.samples.append((loop.time(), streamer.unacked_seconds))  # the state at exit


def new_interviews(api: Api, count: int, workers: int = 8) -> list[StreamTarget]:
    """``count`` candidates, each with a planned interview, made over the REST API.

    Registering and signing in each run argon2 on the server's worker threads, so requests
    in parallel finish sooner than one after another (the threads share the Api's httpx
    client, whose connection pool is thread-safe)."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda _: new_interview(api), range(count)))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record not in self.records:  # once, though it propagates past several loggers
            self.records.append(record)


@contextlib.contextmanager
def server_errors(*names: str) -> Iterator[list[logging.LogRecord]]:
    """ERROR records the server logs meanwhile, e.g. uvicorn's "Exception in ASGI
    application": a handler that crashed on bad input shows here even when the client only
    sees a dropped connection."""
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in names or ("uvicorn.error", "uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.start
