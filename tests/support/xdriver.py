"""Driving a real X11 program from outside, as a person at the keyboard would: xdotool on a
private X server (the ``xvfb_display`` fixture). No window manager runs there, so focus is
given with ``windowfocus`` (XSetInputFocus), not ``windowactivate``.

Keys go through XTEST to whichever window has the input focus, exactly like a keyboard; the
program cannot tell them from a person's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

# A separate process: the test process draws offscreen and must not open the X display.
_GRAB = """
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(sys.argv[:1])
sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)
"""


class XDriverError(AssertionError):
    pass


class XDriver:
    def __init__(self, display: str) -> None:
        self.display = display
        self._env = {**os.environ, "DISPLAY": display}

    def xdotool(self, *args: str, timeout: float = 10.0) -> str:
        try:
            result = subprocess.run(
                ["xdotool", *args], env=self._env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise XDriverError(f"xdotool {' '.join(args)}: no answer in {timeout:.0f} s") from None
        if result.returncode != 0:
            raise XDriverError(f"xdotool {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def find_window(self, title: str, timeout: float = 30.0) -> str:
        """The one visible window whose title is exactly ``title``."""
        deadline = time.monotonic() + timeout
        while True:
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"],
                env=self._env, capture_output=True, text=True, timeout=10,
            ).stdout.split()  # fmt: skip
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise XDriverError(f"{len(found)} visible windows are called {title!r}")
            if time.monotonic() > deadline:
                raise XDriverError(f"no visible window called {title!r} after {timeout:.0f} s")
            time.sleep(0.2)

    def focus(self, window: str) -> None:
        self.xdotool("windowfocus", "--sync", window)

    def key(self, *keys: str) -> None:
        """Press and release each key in turn (X keysym names: Tab, space, Return, shift+Tab)."""
        self.xdotool("key", "--delay", "40", *keys)

    def type(self, text: str) -> None:
        self.xdotool("type", "--delay", "15", "--", text, timeout=30)

    def screenshot(self, path: Path) -> str:
        """Save the whole screen as PNG; returns a line for a failure message (never raises)."""
        try:
            result = subprocess.run(
                [sys.executable, "-c", _GRAB, str(path)],
                env={**self._env, "QT_QPA_PLATFORM": "xcb"},
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return "(no screenshot: the grab timed out)"
        if result.returncode != 0:
            return f"(no screenshot: {result.stderr.strip()[-300:]})"
        return f"screenshot: {path}"
