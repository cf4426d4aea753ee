"""A PNG of every kiosk screen, drawn by Qt on a real X server (Xvfb).

`make screenshots` sets IK_SCREENSHOT_DIR=docs/screenshots to refresh the README's pictures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from backend.app.models.enums import Role
from support.api import Api

SCREENS = ["1-locked", "2-proctor-sign-in", "3-launch", "4-choose-application",
           "5-microphone-check", "6-interview", "6b-answering", "6c-keep-or-retry", "7-done",
           "8-paused", "9-exit-pin"]  # fmt: skip


def test_every_screen_is_drawn_on_a_real_x_server(
    api: Api, xvfb_display: str, tmp_path: Path
) -> None:
    proctor = api.make_user(Role.PROCTOR, "Pat Proctor")
    admin = api.make_user(Role.ADMIN)
    candidate = api.make_user(Role.CANDIDATE, "Casey Candidate")
    posting = api.request("POST", "/api/v1/job-postings", admin, json={
        "title": "Platform Engineer", "company": "Northwind Cloud", "tech_stack": ["Kubernetes"],
        # Short answers and two takes: the answer's 30 s warning and "Try again" in the pictures.
        "think_seconds": 30, "answer_seconds": 30, "takes": 2,
    }).json()  # fmt: skip
    api.request("POST", "/api/v1/applications", candidate, json={"job_posting_id": posting["id"]})
    out = Path(os.environ.get("IK_SCREENSHOT_DIR") or tmp_path)
    result = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "support" / "screenshot_tour.py"),
         api.url, proctor.email, proctor.password, candidate.email, str(out)],
        env={**os.environ, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(line for line in result.stdout.splitlines() if line in SCREENS) == SCREENS
    for name in SCREENS:
        image = QImage(str(out / f"{name}.png"))
        assert (image.width(), image.height()) == (1366, 768), name
        # Not a blank window: more than one colour across a coarse grid.
        colours = {image.pixel(x, y) for x in range(0, 1366, 50) for y in range(0, 768, 50)}
        assert len(colours) > 2, name
