"""A PNG of every kiosk screen, drawn by Qt on a real X server (Xvfb).

`make screenshots` sets IK_SCREENSHOT_DIR=docs/screenshots to refresh the README's pictures.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from backend.app.models.enums import Role
from support.api import Api

SCREENS = ["1-locked", "2-proctor-sign-in", "3-launch", "4-choose-application",
           "5-microphone-check", "5b-practice-answer", "6-interview", "6a-question-read-aloud",
           "6b-answering", "6c-keep-or-retry", "7-done", "8-paused", "9-exit-pin"]  # fmt: skip


def _tour(api: Api, display: str, out: Path, a11y_dir: Path | None = None) -> list[str]:
    """Run the tour (tests/support/screenshot_tour.py); the screens it drew, in order."""
    proctor = api.make_user(Role.PROCTOR, "Pat Proctor")
    admin = api.make_user(Role.ADMIN)
    candidate = api.make_user(Role.CANDIDATE, "Casey Candidate")
    posting = api.request("POST", "/api/v1/job-postings", admin, json={
        "title": "Platform Engineer", "company": "Northwind Cloud", "tech_stack": ["Kubernetes"],
        # Short answers and two takes: the answer's 30 s warning and "Try again" in the pictures.
        "think_seconds": 30, "answer_seconds": 30, "takes": 2,
    }).json()  # fmt: skip
    api.request("POST", "/api/v1/applications", candidate, json={"job_posting_id": posting["id"]})
    command = [sys.executable, str(Path(__file__).parent / "support" / "screenshot_tour.py"),
               api.url, proctor.email, proctor.password, candidate.email, str(out)]  # fmt: skip
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    if a11y_dir is not None:
        # A private session bus (at-spi2-core's bus is D-Bus-activated on it) and Qt's AT-SPI
        # bridge forced on, as when a screen reader runs.
        command = ["dbus-run-session", "--", *command]
        env |= {"IK_A11Y_DIR": str(a11y_dir), "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if line in SCREENS]


def test_every_screen_is_drawn_on_a_real_x_server(
    api: Api, xvfb_display: str, tmp_path: Path
) -> None:
    out = Path(os.environ.get("IK_SCREENSHOT_DIR") or tmp_path)
    assert sorted(_tour(api, xvfb_display, out)) == SCREENS
    for name in SCREENS:
        image = QImage(str(out / f"{name}.png"))
        assert (image.width(), image.height()) == (1366, 768), name
        # Not a blank window: more than one colour across a coarse grid.
        colours = {image.pixel(x, y) for x in range(0, 1366, 50) for y in range(0, 768, 50)}
        assert len(colours) > 2, name


def test_every_screen_reads_well_to_a_screen_reader(
    api: Api, xvfb_display: str, tmp_path: Path
) -> None:
    """Each screen's accessibility tree, read over AT-SPI as Orca reads it: every control has
    a name and a role, no two on a screen share a name, and a label is read by what it shows,
    never by the name of the variable that holds it."""
    trees = tmp_path / "a11y"
    trees.mkdir()
    assert sorted(_tour(api, xvfb_display, tmp_path, trees)) == SCREENS
    problems = []
    for name in SCREENS:
        nodes = [json.loads(line) for line in (trees / f"{name}.jsonl").read_text().splitlines()]
        assert nodes, f"{name}: nothing on the accessibility bus"
        controls = [n for n in nodes if n["focusable"] and n["role"] in CONTROL_ROLES]
        for node in controls:
            if not node["name"].strip():
                problems.append(f"{name}: a {node['role']} with no name")
            if not node["description"].strip():
                problems.append(f"{name}: {node['name']!r} does not say what it does")
        names = [n["name"] for n in controls if n["name"]]
        problems += [f"{name}: two controls named {n!r}" for n in set(names) if names.count(n) > 1]
        for node in nodes:
            if VARIABLE_NAME.search(node["name"]):
                problems.append(f"{name}: a {node['role']} read as {node['name']!r}")
    assert not problems, "\n".join(problems)

    # What shows is what is read, as it changes: the clock, and the buttons its phase offers.
    def read(name: str) -> set[tuple[str, str]]:
        lines = (trees / f"{name}.jsonl").read_text().splitlines()
        return {(node["role"], node["name"]) for node in map(json.loads, lines)}

    thinking, answering = read("6-interview"), read("6b-answering")
    deciding = read("6c-keep-or-retry")
    assert ("push button", "Start answering") in thinking
    assert any(role == "label" and text.startswith("Think · 0:") for role, text in thinking)
    assert ("push button", "Finish this answer") in answering
    assert ("label", "30 seconds left") in answering
    assert {("push button", "Keep this answer"), ("push button", "Try again (1 left)")} <= deciding
    assert ("label", "5 questions · 30 s to think · up to 30 s per answer · 2 takes each") in read(
        "5-microphone-check"
    )
    assert ("push button", "Stop and play it back") in read("5b-practice-answer")
    assert ("label", "Reading the question aloud") in read("6a-question-read-aloud")
    assert ("push button", "Repeat the question") in thinking

    # What changes on its own is announced, as it happens, to whoever listens over AT-SPI.
    heard = [json.loads(line)["text"]
             for line in (trees / "announcements.jsonl").read_text().splitlines()]  # fmt: skip
    print("announced:", heard)
    assert "Question 1 of 5." in heard, heard  # read aloud, so not announced in full too
    assert "Time to think: 30 seconds. Start answering when you are ready." in heard
    assert "Answering now: 30 seconds." in heard
    assert "Answer finished. Keep it, or try again (1 left)." in heard
    assert "Question 2 of 5." in heard, heard


CONTROL_ROLES = {"push button", "toggle button", "check box", "radio button", "entry", "text",
                 "password text", "combo box", "slider", "spin button", "link", "list"}  # fmt: skip
# "question label", "timer_label", "message label": a name made from an object's name.
VARIABLE_NAME = re.compile(r"(?:[ _](?:label|button|edit|meter|combo)$)|_", re.IGNORECASE)
