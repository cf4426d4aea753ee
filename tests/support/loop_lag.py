"""How late an asyncio loop runs its callbacks, measured from a task on that very loop.

The asyncio counterpart of support/heartbeat.py (a QTimer on the Qt loop), for loops with no
Qt, such as the backend's: a task wakes every ``interval`` seconds and records how much later
than asked it woke. As there, the time the machine kept the loop's thread waiting for a CPU
(run-queue wait in /proc/.../schedstat) is told apart: what remains is the loop's own doing,
callbacks that ran long or waited for the GIL another of our threads held.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from backend.app.server import BackgroundServer
from support.heartbeat import _run_queue_wait_seconds


@dataclass(frozen=True)
class LoopLagReport:
    beats: int
    worst_ms: float  # the latest wake-up, wall clock
    worst_own_ms: float  # the latest wake-up less the time the machine kept the thread waiting

    def __str__(self) -> str:
        return (
            f"loop lag: {self.beats} beats, worst {self.worst_ms:.1f} ms; "
            f"worst of the loop's own {self.worst_own_ms:.1f} ms"
        )


class LoopLag:
    def __init__(self, interval: float = 0.005) -> None:
        self._interval = interval
        self._lags: list[tuple[float, float]] = []  # (wall, own) seconds late per wake-up
        self._stopped = asyncio.Event()

    async def run(self) -> None:
        """Beat until ``stop``; run it on the loop to measure."""
        schedstat = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat")
        while not self._stopped.is_set():
            asked, waited = time.perf_counter(), _run_queue_wait_seconds(schedstat)
            await asyncio.sleep(self._interval)
            late = time.perf_counter() - asked - self._interval
            own = max(0.0, late - (_run_queue_wait_seconds(schedstat) - waited))
            self._lags.append((late, own))

    def stop(self) -> None:
        """Call on the measured loop (loop.call_soon_threadsafe from elsewhere)."""
        self._stopped.set()

    def report(self) -> LoopLagReport:
        return LoopLagReport(
            len(self._lags),
            max(late for late, _ in self._lags) * 1000,
            max(own for _, own in self._lags) * 1000,
        )


def server_loop(server: BackgroundServer) -> asyncio.AbstractEventLoop:
    """The loop a BackgroundServer serves on. Its uvicorn.Server is private, but the listening
    asyncio.Server it started knows its loop."""
    uvicorn_server = server._server
    assert uvicorn_server is not None and uvicorn_server.servers
    return uvicorn_server.servers[0].get_loop()
