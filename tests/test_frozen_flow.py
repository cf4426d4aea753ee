"""The frozen kiosk as IT installs it, through its whole flow: lock -> launch -> interview ->
done -> lock, against its embedded backend, with speech played into the virtual microphone.

The same story as tests/test_kiosk_flow.py's end-to-end test, but the bundle cannot be driven
in-process (and a test hook in the shipped kiosk would be a back door), so it is driven from
outside as a person would: by keyboard alone, with xdotool on a private X server, with no
window manager. Which screen is up is read from the backend's side: the audit log in the
embedded backend's SQLite database (sign-in, launch, planning) and its REST API as an admin
(everything about the interview, the recording included), on the port the kiosk listens on.

Keys follow the kiosk's real focus, as a keyboard user finds it (see the comments at each
step): Space presses the focused button, Tab and the arrows move, Return signs in.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import itertools
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest

from support.audio import best_alignment, read_pcm16, synthesize_speech

# The session's package (built once, or IK_PACKAGE_DEB): shared with the packaging test.
from support.packaging import Package
from support.vmic import VirtualMic
from support.xdriver import XDriver, XDriverError

# The build (in the `package` fixture, first use only) is bounded by test_packaging's own
# limits; the flow itself must finish within 300 s.
pytestmark = [
    pytest.mark.packaging,
    pytest.mark.vmic,
    pytest.mark.slow,
    pytest.mark.timeout(300, func_only=True),
]

KIOSK_ID = "seat-frozen"
EXIT_PIN = "2468"
DONE_SECONDS = 15.0  # the done screen locks the kiosk after this (FlowController's default)
# After the backend records a step, the kiosk may still make a call or two (loopback, ~10 ms
# each) before it draws the next screen: keys sent sooner would land on the old one.
SETTLE = 1.0
CANDIDATE = "sam@demo.interview-kiosk.test"  # two applications; not first in the list

T = TypeVar("T")


def _require_xdotool() -> None:
    if shutil.which("xdotool") is None:
        message = "xdotool is not installed: the kiosk cannot be driven (make test installs it)"
        if os.environ.get("IK_REQUIRE_VMIC") == "1":
            pytest.fail(message)
        pytest.skip(f"!!! SKIPPED: {message}")


def _run(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(args, env=env, input=stdin, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout


def _seed_demo(bundle: Path, env: dict[str, str]) -> dict[str, str]:
    """The frozen `interview-backend seed-demo`: demo accounts with passwords new this run."""
    printed = _run(str(bundle / "interview-backend"), "seed-demo", env=env)
    accounts = dict(
        re.findall(r"^\s+(?:admin|proctor|candidate)\s+(\S+@\S+)\s+(\S+)\s*$", printed, re.M)
    )
    assert len(accounts) == 5, printed
    return accounts


def _sockets(pid: int) -> tuple[set[int], set[int]]:
    """(loopback ports ``pid`` listens on, remote ports its established TCP sockets talk to)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    listening, talking_to = set(), set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if inode not in inodes:
            continue
        if state == "0A" and local.startswith("0100007F:"):  # LISTEN on 127.0.0.1
            listening.add(int(local.split(":")[1], 16))
        elif state == "01":  # ESTABLISHED
            talking_to.add(int(remote.split(":")[1], 16))
    return listening, talking_to


class FrozenKiosk:
    """The unpacked bundle's `interview-kiosk`, full-screen (kiosk mode, its default)."""

    def __init__(self, bundle: Path, config: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(bundle / "interview-kiosk"), "--config", str(config)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> None:
        code = self.process.poll()
        assert code is None, f"the kiosk exited (code {code}):\n{self.tail()}"

    def backend_port(self) -> int | None:
        self.alive()
        listening, _ = _sockets(self.process.pid)
        assert len(listening) <= 1, listening
        return next(iter(listening), None)

    def talks_to(self, port: int) -> bool:
        self.alive()
        return port in _sockets(self.process.pid)[1]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def _until(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``condition`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


def _start_kiosk(
    bundle: Path, tmp_path: Path, display: str, pin_hash: str | None = None
) -> tuple[FrozenKiosk, dict[str, str], Path]:
    """Seed the data dir with the frozen backend, then start the kiosk on it. Returns the
    kiosk, the demo accounts and the data dir."""
    data = tmp_path / "data"
    data.mkdir()
    env = {
        **os.environ,  # with the virtual microphone's PULSE_SERVER when that fixture is used
        "IK_DATA_DIR": str(data),
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",  # this process draws offscreen; the kiosk must not
    }
    accounts = _seed_demo(bundle, env)
    config = tmp_path / "kiosk.toml"
    lines = [f'kiosk_id = "{KIOSK_ID}"', 'test_center = "Frozen test"', f'data_dir = "{data}"']
    if pin_hash:
        lines.append(f'exit_pin_hash = "{pin_hash}"')
    config.write_text("\n".join(lines) + "\n")
    return FrozenKiosk(bundle, config, env, tmp_path / "kiosk.log"), accounts, data


def _wait_ready(kiosk: FrozenKiosk) -> int:
    """The embedded backend's port, once the kiosk's own controls are wired to it."""
    port = _until(kiosk.backend_port, 60, "the embedded backend listening")
    # The kiosk polls /health right after it wires its screens to the flow: its own
    # connection to its backend means Space on "Proctor sign-in" does something.
    _until(lambda: kiosk.talks_to(port), 30, "the kiosk connecting to its embedded backend")
    return port


class Backend:
    """The embedded backend, as an admin sees it (REST) and its audit log (SQLite, read-only)."""

    def __init__(self, port: int, data: Path) -> None:
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        self.db = data / "interview-kiosk.db"
        self.token = ""

    def login(self, email: str, password: str) -> str:
        response = self.http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        response = self.http.get(
            path, params=params, headers={"Authorization": f"Bearer {token or self.token}"}
        )
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json() if "json" in response.headers["content-type"] else response

    def audit(self, email: str, action: str) -> list[tuple[str | None, dict[str, Any]]]:
        """(subject, details) of each ``action`` done by the account ``email``, oldest first."""
        with contextlib.closing(
            sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        ) as db:
            rows = db.execute(
                "SELECT a.subject_id, a.details FROM audit_log a JOIN users u"
                " ON u.id = a.actor_id WHERE u.email = ? AND a.action = ? ORDER BY a.at",
                (email, action),
            ).fetchall()
        return [(subject, json.loads(details or "{}")) for subject, details in rows]


@contextlib.contextmanager
def _step(name: str, kiosk: FrozenKiosk, x: XDriver, shots: Path) -> Iterator[None]:
    """Name the step that failed, with a screenshot and the kiosk's last output."""
    try:
        yield
    except (AssertionError, XDriverError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
        shot = x.screenshot(shots / f"{re.sub(r'[^a-z0-9]+', '-', name)}.png")
        raise AssertionError(
            f"step '{name}' failed: {exc}\n{shot}\nkiosk output (last lines):\n{kiosk.tail()}"
        ) from exc


def test_frozen_kiosk_lock_launch_interview_done_lock_by_keyboard(
    package: Package,
    xvfb_display: str,
    virtual_mic: VirtualMic,
    tmp_path: Path,
) -> None:
    _require_xdotool()
    started = time.monotonic()
    bundle = package.bundle
    pin_hash = _run(
        str(bundle / "interview-kiosk"), "hash-pin", env=dict(os.environ), stdin=EXIT_PIN + "\n"
    ).strip()
    check = synthesize_speech("I am ready for my interview today.", tmp_path / "check.wav")
    answers = [
        synthesize_speech("I have built React storefronts used by a million shoppers a week.",
                          tmp_path / "answer1.wav"),
        synthesize_speech("Every custom widget gets keyboard support and screen reader labels.",
                          tmp_path / "answer2.wav"),
    ]  # fmt: skip
    kiosk, accounts, data = _start_kiosk(bundle, tmp_path, xvfb_display, pin_hash)
    proctor = "proctor@demo.interview-kiosk.test"
    x = XDriver(xvfb_display)
    timings: dict[str, float] = {}
    similarity: list[str] = []  # each answer against what the server recorded

    def step(name: str) -> contextlib.AbstractContextManager[None]:
        timings[name] = time.monotonic()
        return _step(name, kiosk, x, tmp_path)

    try:
        with step("start"):
            backend = Backend(_wait_ready(kiosk), data)
            x.focus(x.find_window("Interview Kiosk"))
            backend.token = backend.login("admin@demo.interview-kiosk.test",
                                          accounts["admin@demo.interview-kiosk.test"])  # fmt: skip
            # What the kiosk will list, in its order, and the candidate's own applications.
            listed = backend.get("/api/v1/proctor/candidates", query="", limit=20)
            row = [c["email"] for c in listed].index(CANDIDATE)
            candidate_id = listed[row]["id"]
            applications = backend.get(
                "/api/v1/applications", backend.login(CANDIDATE, accounts[CANDIDATE])
            )
            assert len(applications) >= 2, applications
            chosen = applications[1]  # not the preselected first one

        with step("proctor sign-in"):
            # The locked screen comes up with "Proctor sign-in" focused; the sign-in screen
            # with the email field focused.
            x.key("space")
            time.sleep(0.3)
            x.type(proctor)
            x.key("Tab")
            x.type(accounts[proctor])
            x.key("Return")
            _until(lambda: backend.audit(proctor, "login"), 20, "the proctor signed in")
            time.sleep(SETTLE)

        with step("launch"):
            # Focus: the search box, the candidate list, "Extra time" (left at none), then
            # "Launch session".
            x.key("Tab", *["Down"] * row, "Tab", "Tab", "space")
            launched = _until(
                lambda: backend.audit(proctor, "session_launched"), 20, "a session launched"
            )
            # No extra time was granted, and the record says so.
            assert launched == [(candidate_id, {"kiosk_id": KIOSK_ID, "accommodation": None})], (
                launched
            )
            time.sleep(SETTLE)

        with step("choose an application"):
            # Focus: the application list (first row chosen), then "Start with this application".
            x.key("Down", "Tab", "space")
            planned = _until(
                lambda: backend.audit(CANDIDATE, "interview_planned"), 20, "an interview planned"
            )
            interview = f"/api/v1/interviews/{planned[0][0]}"
            assert backend.get(interview)["application_id"] == chosen["id"]
            time.sleep(SETTLE + 0.5)  # the screen lists the microphones and opens one

        with step("microphone check"):
            # Focus: "Check my microphone (5 seconds)", where the screen puts it.
            x.key("space")
            time.sleep(0.5)
            virtual_mic.feed(check).wait(30)
            detail = _until(
                lambda: (d := backend.get(interview))["preflight"] and d, 15, "the check saved"
            )
            assert detail["preflight"]["fit"] is True, detail["preflight"]
            time.sleep(SETTLE)

        with step("start the interview"):
            # The focus went back to Check after the check; Tab passes "Practice an answer"
            # (offered once the check is done) and reaches "Start the interview".
            x.key("Tab", "Tab", "space")
            _until(
                lambda: backend.get(interview)["status"] == "in_progress", 20, "streaming started"
            )
            time.sleep(SETTLE)

        for number, answer in enumerate(answers):
            with step(f"answer {number + 1}"):
                x.key("space")  # "Start answering", focused
                time.sleep(0.3)
                virtual_mic.feed(answer).wait(30)
                time.sleep(0.3)
                x.key("space")  # "Finish this answer": one take, kept; the next question
                _until(
                    lambda n=number: backend.get(interview)["questions"][n]["answer_end_seconds"]
                    is not None, 20, f"question {number + 1} answered",
                )  # fmt: skip
                time.sleep(0.5)

        with step("finish"):
            # The main button kept the focus; Tab passes "Repeat the question" (the next
            # question is read aloud) and reaches "Finish the interview".
            x.key("Tab", "Tab", "space")
            detail = _until(
                lambda: (d := backend.get(interview))["status"] == "completed" and d,
                30, "the interview completed",
            )  # fmt: skip
            completed = time.monotonic()

        with step("the recording"):
            assert detail["application_id"] == chosen["id"]
            assert detail["kiosk_id"] == KIOSK_ID
            preflight = detail["preflight"]
            assert preflight["fit"] is True  # the seat's check is kept for reviewers
            assert preflight["speech_level_dbfs"] > preflight["noise_floor_dbfs"]
            answered = [q for q in detail["questions"] if q["answer_end_seconds"] is not None]
            assert len(answered) == 3  # two answers, and the third question's span up to "finish"
            served = backend.get(f"{interview}/recording")
            with wave.open(io.BytesIO(served.content)) as wav:
                assert (wav.getframerate(), wav.getnchannels()) == (16000, 1)
                recording = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
            for number, answer in enumerate(answers):
                question = detail["questions"][number]
                start = int(question["answer_start_seconds"] * 16000)
                end = int(question["answer_end_seconds"] * 16000)
                lag, ncc = best_alignment(recording[start:end], read_pcm16(answer))
                assert ncc >= 0.99, f"answer {number + 1}: ncc {ncc:.4f} at lag {lag}"
                similarity.append(f"{ncc:.4f}")

        with step("done, then locked again"):
            time.sleep(max(0.0, completed + DONE_SECONDS + 3 - time.monotonic()))
            kiosk.alive()  # kiosk mode never ends on its own
            # Only the locked screen leads to the exit PIN. It comes up with "Proctor sign-in"
            # focused; Shift+Tab reaches "Exit"; the PIN field is then focused.
            x.key("shift+Tab", "space")
            time.sleep(0.3)
            x.type(EXIT_PIN)
            x.key("Return")
            try:
                code = kiosk.process.wait(30)
            except subprocess.TimeoutExpired:
                raise AssertionError("still running 30 s after the exit PIN") from None
            assert code == 0, f"the kiosk left kiosk mode with code {code}"
    finally:
        kiosk.stop()
    marks = [*timings.items(), ("end", time.monotonic())]
    spans = [f"{name} {end - begin:.1f} s" for (name, begin), (_, end) in itertools.pairwise(marks)]
    print(f"frozen flow in {time.monotonic() - started:.0f} s: " + ", ".join(spans))
    print(f"answers in the recording: ncc {', '.join(similarity)}")


def test_frozen_kiosk_stops_on_sigterm(
    package: Package,
    xvfb_display: str,
    tmp_path: Path,
) -> None:
    """What an X session ending (or `systemctl stop`) does to a kiosk at the locked screen."""
    kiosk, _accounts, data = _start_kiosk(package.bundle, tmp_path, xvfb_display)
    try:
        _wait_ready(kiosk)
        time.sleep(2)
        kiosk.alive()
        kiosk.process.send_signal(signal.SIGTERM)
        try:
            code = kiosk.process.wait(15)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running 15 s after SIGTERM:\n{kiosk.tail()}") from None
    finally:
        kiosk.stop()
    # A clean stop: the embedded backend and the HTTP client closed, exit status 0.
    assert code == 0, f"exit code {code} after SIGTERM:\n{kiosk.tail()}"
    # The workstation's next kiosk can start: the one-kiosk lock went with the process.
    with (data / "kiosk.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
