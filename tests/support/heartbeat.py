"""A 10 ms heartbeat on the Qt loop, to show the loop never stalls.

A gap between beats has two parts: time the loop's thread was runnable but the machine gave
its CPU to someone else (the kernel counts this per thread in /proc/.../schedstat as run-queue
wait), and everything else: the loop busy, blocked in a system call, or waiting for the GIL
held by another of our threads. Only the second is the kiosk's doing; on a shared 2-core
machine the first can be anything. Both are reported; tests assert on the second.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer


def _run_queue_wait_seconds(schedstat: Path) -> float:
    # "<on-cpu ns> <run-queue wait ns> <timeslices>"
    return int(schedstat.read_text().split()[1]) / 1e9


@dataclass(frozen=True)
class HeartbeatReport:
    gaps: int
    p99_ms: float
    worst_ms: float
    worst_own_ms: float  # the worst gap less the time the machine kept the thread waiting
    worst_own_at_s: float

    def __str__(self) -> str:
        return (
            f"heartbeat: {self.gaps} gaps, p99 {self.p99_ms:.1f} ms, max {self.worst_ms:.1f} ms; "
            f"worst stall of our own {self.worst_own_ms:.1f} ms at {self.worst_own_at_s:.2f} s"
        )


class Heartbeat:
    def __init__(self, parent: QObject, interval_ms: int = 10) -> None:
        self._schedstat = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat")
        self._beats: list[tuple[float, float]] = []
        self._timer = QTimer(parent)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        self._beats.append((time.perf_counter(), _run_queue_wait_seconds(self._schedstat)))

    def start(self) -> None:
        self._beat()
        self._timer.start()

    def stop(self) -> HeartbeatReport:
        self._timer.stop()
        start = self._beats[0][0]
        walls, owns = [], []
        for (t0, w0), (t1, w1) in itertools.pairwise(self._beats):
            walls.append(t1 - t0)
            owns.append((max(0.0, (t1 - t0) - (w1 - w0)), t0 - start))
        walls.sort()
        own, at = max(owns)
        return HeartbeatReport(
            len(walls), walls[int(len(walls) * 0.99)] * 1000, walls[-1] * 1000, own * 1000, at
        )
