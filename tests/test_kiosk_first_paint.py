"""The kiosk says when it first painted its locked screen: one log line, once, that
benchmarks/kiosk_startup.py times from outside the process."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from kiosk.ui.views import screens
from kiosk.ui.views.main_window import MainWindow


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.calls.append((event, fields))


def _pump(stream: IO[str] | None, into: queue.Queue[str]) -> None:
    assert stream is not None
    for line in stream:
        into.put(line)


def test_the_locked_screen_logs_its_first_paint_once(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in logger: structlog's configuration may be cached by earlier tests in this
    # process, so capture_logs() could miss the line.
    recorder = _Recorder()
    monkeypatch.setattr(screens, "logger", recorder)
    window = MainWindow("seat-1", "Leeds")
    qtbot.addWidget(window)
    assert recorder.calls == []  # built, not yet drawn
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: bool(recorder.calls))
    # Away and back, and painted again: still the one line.
    window.stack.setCurrentWidget(window.sign_in)
    window.repaint()
    window.stack.setCurrentWidget(window.locked)
    window.repaint()
    qtbot.wait(100)
    assert recorder.calls == [("first_paint", {"screen": "locked"})]


def test_the_kiosk_process_prints_the_first_paint_line(xvfb_display: str, tmp_path: Path) -> None:
    """As the benchmark sees it: the real program on a real X server, its stdout a pipe."""
    env = {**os.environ, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"}
    env = {k: v for k, v in env.items() if not k.startswith("IK_KIOSK_")}
    (tmp_path / "kiosk.toml").write_text(f'data_dir = "{tmp_path}"\n')
    # Port 9 on loopback refuses at once: no embedded backend to wait for; the locked screen
    # is drawn all the same.
    command = [sys.executable, "-m", "kiosk", "--config", str(tmp_path / "kiosk.toml")]
    command += ["--backend-url", "http://127.0.0.1:9", "--exit-after", "60"]
    kiosk = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(kiosk.stdout, lines))
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while not any("first_paint" in line for line in seen):
            assert time.monotonic() < deadline, f"no first_paint line in 30 s: {seen}"
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                assert kiosk.poll() is None, f"the kiosk exited ({kiosk.returncode}): {seen}"
        time.sleep(1.5)  # the clock ticks and the status changes: more paints, no more lines
    finally:
        kiosk.send_signal(signal.SIGTERM)
        try:
            code = kiosk.wait(15)
        except subprocess.TimeoutExpired:
            kiosk.kill()
            code = kiosk.wait(10)
        reader.join(10)
    while not lines.empty():
        seen.append(lines.get())
    painted = [line for line in seen if "first_paint" in line]
    assert len(painted) == 1, seen
    assert "screen=locked" in painted[0]
    assert code == 0, seen
