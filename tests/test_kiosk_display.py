"""`make run` on a machine with a display: the kiosk window covers the real X11 screen."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

GRAB = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
image = app.primaryScreen().grabWindow(0).toImage()
# The kiosk's window is light grey; Xvfb's bare root window is black.
light = sum(
    1 for x in range(0, image.width(), 40) for y in range(0, image.height(), 40)
    if image.pixelColor(x, y).lightness() > 200
)
total = len(range(0, image.width(), 40)) * len(range(0, image.height(), 40))
print(light / total)
"""


def test_kiosk_covers_the_x11_screen_without_a_window_manager(
    xvfb_display: str, tmp_path: Path
) -> None:
    env = {**os.environ, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"}
    env["IK_DATA_DIR"] = str(tmp_path)
    kiosk = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--exit-after", "20"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        covered = 0.0
        deadline = time.monotonic() + 15
        while covered < 0.95 and time.monotonic() < deadline:
            time.sleep(0.5)
            grab = subprocess.run(
                [sys.executable, "-c", GRAB], env=env, capture_output=True, text=True, check=True
            )
            covered = float(grab.stdout.strip())
        assert covered >= 0.95, f"the kiosk window covers only {covered:.0%} of the screen"
        assert kiosk.poll() is None
    finally:
        kiosk.terminate()
        kiosk.wait(10)
