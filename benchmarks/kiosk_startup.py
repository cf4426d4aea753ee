"""Kiosk: how long until the locked screen is painted, and what streaming an interview costs.

Two measurements, on a private X server (Xvfb, the xcb platform: real X11 painting) with a
private PulseAudio virtual microphone (tests/support/vmic.py):

1. Start-up, from source (`.venv/bin/interview-kiosk`, what `make run` starts) and from the
   PyInstaller bundle (dist/interview-kiosk/interview-kiosk), interleaved, N starts each. The
   configuration is the one tests/test_frozen_flow.py uses: full-screen kiosk mode, the embedded
   backend (no backend_url), a data dir seeded first by that kiosk's own `interview-backend
   seed-demo`. The time is from just before the process is started to the moment its
   "first_paint screen=locked" log line (kiosk/ui/views/screens.py, LockedView.paintEvent)
   arrives on its stdout pipe. Also: when its embedded backend listens and the kiosk is
   connected to it ("ready"), VmRSS at the paint, and VmHWM (peak RSS) one second after ready,
   just before SIGTERM.
2. An interview, from source, against a separate `interview-backend serve` process with the
   demo data: the kiosk is driven by keyboard through sign-in, launch, choosing an application
   and the microphone check (xdotool, as tests/test_frozen_flow.py does), speech plays into the
   virtual microphone without pause, and for S seconds the kiosk process's CPU (user + system,
   % of one core: mean over the window and max over 1-s windows) and RSS are sampled. The bytes
   the server appended to the recording in that window show it really streamed.

It measures and reports; it asserts nothing and exits 0 unless it could not run at all.

    .venv/bin/python benchmarks/kiosk_startup.py --quick   # 3 starts each, 10 s interview
    .venv/bin/python benchmarks/kiosk_startup.py           # 5 starts each, 60 s (~4 min)
    .venv/bin/python benchmarks/kiosk_startup.py --bundle /opt/interview-kiosk/interview-kiosk

Needs Xvfb, xdotool, pulseaudio, espeak-ng and sox (`make test-system-deps`).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
from common import (
    ROOT,
    cpu_seconds,
    free_port,
    machine,
    reset_peak_rss,
    run_line,
    status_kib,
    stop_process,
    write_results,
)

# The virtual microphone, the keyboard driver and the speech synthesis are the test harness's
# own (tests/support): one implementation of each, which the frozen-flow test keeps working,
# rather than a copy here that could drift from it.
sys.path.insert(0, str(ROOT / "tests"))
from support.audio import synthesize_speech
from support.vmic import VirtualMic, VirtualMicError
from support.xdriver import XDriver, XDriverError
from support.xvfb import running_xvfb

SOURCE_KIOSK = ROOT / ".venv/bin/interview-kiosk"
SOURCE_BACKEND = ROOT / ".venv/bin/interview-backend"
DEFAULT_BUNDLE = ROOT / "dist/interview-kiosk/interview-kiosk"
PAINT_MARKER = b"first_paint"
WINDOW_TITLE = "Interview Kiosk"
START_TIMEOUT = 60.0  # per start: a cold bundle on a loaded machine takes a few seconds
PAINT_GRACE = 5.0  # after "ready", how long a missing paint line is still waited for
BYTES_PER_SECOND = 16000 * 2  # the kiosk streams 16 kHz mono pcm_s16le
PROCTOR = "proctor@demo.interview-kiosk.test"
ADMIN = "admin@demo.interview-kiosk.test"
CANDIDATE = "sam@demo.interview-kiosk.test"  # two applications (tests/test_frozen_flow.py)
SETTLE = 1.0  # after the backend records a step, the kiosk draws the next screen
SPEECH = (
    "I have built React storefronts used by a million shoppers a week. Every custom widget "
    "gets keyboard support and screen reader labels, and we measure what we ship."
)

T = TypeVar("T")


class BenchError(RuntimeError):
    """A step of one measurement failed; the row records it and the run goes on."""


def _until(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _mib(kib: int) -> float:
    return round(kib / 1024, 1)


# --- the environment: a private X server and a clean set of variables -------------------------


def base_env(display: str, mic: VirtualMic | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # Nothing of the caller's kiosk or backend set-up may leak into the measured ones.
        if not k.startswith(("IK_KIOSK_", "IK_DATA", "IK_DATABASE")) and k != "IK_LOG_LEVEL"
    }
    env |= {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    if mic is not None:
        env |= mic.env  # PortAudio -> ALSA pulse -> the private daemon, never a real one
    return env


def seed_demo(backend: Path, data: Path, env: dict[str, str]) -> dict[str, str]:
    """`interview-backend seed-demo` into ``data``: {email: password} of the demo accounts."""
    data.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(backend), "seed-demo"],
        env={**env, "IK_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode != 0:
        raise BenchError(f"{backend} seed-demo failed: {result.stderr[-1000:]}")
    # The same reading of its output as tests/test_frozen_flow.py's _seed_demo.
    return dict(
        re.findall(r"^\s+(?:admin|proctor|candidate)\s+(\S+@\S+)\s+(\S+)\s*$", result.stdout, re.M)
    )


def kiosk_config(path: Path, kiosk_id: str, data: Path) -> Path:
    path.write_text(f'kiosk_id = "{kiosk_id}"\ntest_center = "Benchmark"\ndata_dir = "{data}"\n')
    return path


def sockets(pid: int) -> tuple[set[int], set[int]]:
    """(loopback ports ``pid`` listens on, remote ports of its established TCP sockets).
    Copied from tests/test_frozen_flow.py, where it is a test-file helper."""
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


# --- one kiosk process, its output read as it comes --------------------------------------------


class Kiosk:
    """A kiosk process. A thread reads its stdout (stderr merged: structlog, which the kiosk
    does not configure, prints to stdout) line by line and stamps the paint line with
    time.monotonic() the moment it arrives; a pipe adds microseconds, not milliseconds."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log.open("wb")
        self.tail: collections.deque[str] = collections.deque(maxlen=30)
        self.painted_at: float | None = None
        self.rss_at_paint_kib = 0
        self.started = time.monotonic()  # just before the fork: "process start"
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        # A daemon: a child that kept the pipe open must not keep this program alive.
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self, stream: IO[bytes] | None) -> None:
        assert stream is not None
        for line in stream:
            now = time.monotonic()
            if self.painted_at is None and PAINT_MARKER in line:
                self.painted_at = now
                with contextlib.suppress(OSError):
                    self.rss_at_paint_kib = status_kib(self.pid, "VmRSS")
            self.log.write(line)
            self.tail.append(line.decode(errors="replace").rstrip())

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"the kiosk exited (code {self.process.returncode}): {self.last()}")

    def last(self, lines: int = 8) -> str:
        return " | ".join(list(self.tail)[-lines:])

    def stop(self) -> tuple[int | None, float]:
        """SIGTERM (quits as the exit PIN does), then the exit code and how long it took."""
        began = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(10)
        self.log.close()
        return self.process.returncode, round(time.monotonic() - began, 2)


# --- 1. start-up ---------------------------------------------------------------------------------


def start_once(kind: str, command: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"phase": "startup", "kiosk": kind}
    kiosk = Kiosk(command, env, log)
    try:
        port: int | None = None
        ready_at: float | None = None
        deadline = kiosk.started + START_TIMEOUT
        # Ready: the embedded backend listens and the kiosk is connected to it (its first
        # /health poll), as tests/test_frozen_flow.py's _wait_ready. Polled at 20 Hz: reading
        # a few /proc files costs well under a millisecond.
        while ready_at is None and time.monotonic() < deadline:
            kiosk.alive()
            listening, talking_to = sockets(kiosk.pid)
            port = port or next(iter(listening), None)
            if port is not None and port in talking_to:
                ready_at = time.monotonic()
            else:
                time.sleep(0.05)
        if ready_at is None:
            raise BenchError(f"not ready within {START_TIMEOUT:.0f} s: {kiosk.last()}")
        # The paint comes long before the backend is up; a missing line is a kiosk without
        # the marker (a bundle built before it), not a slow paint.
        grace_end = time.monotonic() + PAINT_GRACE
        while kiosk.painted_at is None and time.monotonic() < grace_end:
            time.sleep(0.05)
        time.sleep(1.0)  # the locked screen as it stays: status polled, "Connected" drawn
        kiosk.alive()
        row |= {
            "paint_s": round(kiosk.painted_at - kiosk.started, 3) if kiosk.painted_at else None,
            "ready_s": round(ready_at - kiosk.started, 3),
            "rss_at_paint_mib": _mib(kiosk.rss_at_paint_kib) if kiosk.painted_at else None,
            "peak_rss_mib": _mib(status_kib(kiosk.pid, "VmHWM")),
            "rss_mib": _mib(status_kib(kiosk.pid, "VmRSS")),
            "cpu_seconds": round(cpu_seconds(kiosk.pid), 2),
        }
        if kiosk.painted_at is None:
            row["note"] = "no first_paint line: built before the marker? (make package)"
    except (BenchError, OSError) as exc:
        row["error"] = str(exc)
    finally:
        code, stop_s = kiosk.stop()
        row |= {"exit_code": code, "stop_s": stop_s}
    return row


def startup(
    runs: int, bundle: Path | None, env: dict[str, str], work: Path
) -> list[dict[str, Any]]:
    kinds: dict[str, tuple[list[str], Path]] = {}
    rows: list[dict[str, Any]] = []
    for kind, kiosk, backend in (
        ("source", SOURCE_KIOSK, SOURCE_BACKEND),
        ("bundle", bundle, bundle.parent / "interview-backend" if bundle else None),
    ):
        if kiosk is None or backend is None:
            continue
        data = work / f"startup-{kind}"
        # Seeding first also warms the page cache with the program's files, so every measured
        # start is a warm one (a workstation's second start, not its first after boot).
        try:
            seed_demo(backend, data, env)
        except (BenchError, OSError, subprocess.SubprocessError) as exc:
            print(f"  start-up {kind}: {exc}", file=sys.stderr)
            rows.append({"phase": "startup", "kiosk": kind, "run": 0, "error": str(exc)})
            continue
        config = kiosk_config(work / f"kiosk-{kind}.toml", f"bench-{kind}", data)
        kinds[kind] = ([str(kiosk), "--config", str(config)], data)
    for run in range(runs):
        # Interleaved, so a drift in background load hits both alike.
        for kind, (command, data) in kinds.items():
            print(f"  start-up {kind} {run + 1}/{runs} ...", file=sys.stderr, flush=True)
            row = start_once(
                kind, command, {**env, "IK_DATA_DIR": str(data)}, work / f"{kind}-{run}.log"
            )
            rows.append({**row, "run": run + 1})
    return rows


def startup_summary(rows: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    mine = [r for r in rows if r.get("kiosk") == kind and r["phase"] == "startup"]
    if any("skipped" in r for r in mine):
        return {"skipped": mine[0]["skipped"]}
    paints = [r["paint_s"] for r in mine if r.get("paint_s") is not None]
    readies = [r["ready_s"] for r in mine if r.get("ready_s") is not None]
    peaks = [r["peak_rss_mib"] for r in mine if r.get("peak_rss_mib") is not None]
    at_paint = [r["rss_at_paint_mib"] for r in mine if r.get("rss_at_paint_mib") is not None]
    summary: dict[str, Any] = {
        "runs": len(mine),
        "errors": sum(1 for r in mine if "error" in r),
        "paint_s": {
            "median": _median(paints),
            "min": min(paints, default=None),
            "max": max(paints, default=None),
            "n": len(paints),
        },
        "ready_s": {
            "median": _median(readies),
            "min": min(readies, default=None),
            "max": max(readies, default=None),
        },
        "peak_rss_mib": {"median": _median(peaks), "max": max(peaks, default=None)},
        "rss_at_paint_mib": {"median": _median(at_paint)},
        "exit_codes_on_sigterm": sorted({r["exit_code"] for r in mine if "exit_code" in r}),
    }
    notes = []
    if readies and not paints:
        notes.append("no first_paint line: this kiosk predates the marker; rebuild it")
    if any(code != 0 for code in summary["exit_codes_on_sigterm"]):
        # 0 is a clean quit; -15 is a kiosk without the SIGTERM handler (built before it).
        notes.append(f"exit codes on SIGTERM {summary['exit_codes_on_sigterm']}, not 0")
    if notes:
        summary["note"] = "; ".join(notes)
    return summary


# --- 2. an interview -------------------------------------------------------------------------


class Backend:
    """`interview-backend serve` on the demo data, and what the benchmark reads from it: the
    audit log (SQLite, read-only) to know which screen the kiosk reached, and the recording
    file to see what was stored."""

    def __init__(self, data: Path, env: dict[str, str], log: Path) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("wb")
        env = {**env, "IK_DATA_DIR": str(data), "IK_LOG_LEVEL": "warning"}
        command = [str(SOURCE_BACKEND), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log)
        try:
            self._wait_listening(log)
        except BenchError:
            self.stop()
            raise

    def _wait_listening(self, log: Path) -> None:
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise BenchError(f"the backend exited; see {log}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            if time.monotonic() > deadline:
                raise BenchError("the backend did not listen within 30 s")
            time.sleep(0.1)

    def audit(self, email: str, action: str) -> list[str]:
        """Subjects of each ``action`` done by ``email``, oldest first (as the frozen test)."""
        with contextlib.closing(
            sqlite3.connect(
                f"file:{self.data / 'interview-kiosk.db'}?mode=ro", uri=True, timeout=10
            )
        ) as db:
            rows = db.execute(
                "SELECT a.subject_id FROM audit_log a JOIN users u ON u.id = a.actor_id"
                " WHERE u.email = ? AND a.action = ? ORDER BY a.at",
                (email, action),
            ).fetchall()
        return [str(subject) for (subject,) in rows]

    def recorded_bytes(self) -> int:
        """Bytes in the recording files (one interview here: the one streaming)."""
        return sum(p.stat().st_size for p in (self.data / "recordings").glob("*.pcm"))

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()


def drive_to_interview(
    x: XDriver, backend: Backend, mic: VirtualMic, accounts: dict[str, str], check: Path
) -> None:
    """Lock -> sign-in -> launch -> choose -> microphone check -> interview, by keyboard; the
    keys and where the focus is are tests/test_frozen_flow.py's (see the comments there)."""
    with httpx.Client(base_url=backend.url, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"email": ADMIN, "password": accounts[ADMIN]})
        login.raise_for_status()
        listed = http.get(
            "/api/v1/proctor/candidates",
            params={"query": "", "limit": 20},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        ).json()
    row = [c["email"] for c in listed].index(CANDIDATE)
    x.focus(x.find_window(WINDOW_TITLE))
    x.key("space")
    time.sleep(0.3)
    x.type(PROCTOR)
    x.key("Tab")
    x.type(accounts[PROCTOR])
    x.key("Return")
    _until(lambda: backend.audit(PROCTOR, "login"), 20, "the proctor signed in")
    time.sleep(SETTLE)
    x.key("Tab", *["Down"] * row, "Tab", "Tab", "space")  # past "Extra time", left at none
    _until(lambda: backend.audit(PROCTOR, "session_launched"), 20, "a session launched")
    time.sleep(SETTLE)
    x.key("Down", "Tab", "space")
    _until(lambda: backend.audit(CANDIDATE, "interview_planned"), 20, "an interview planned")
    time.sleep(SETTLE + 0.5)
    x.key("space")
    time.sleep(0.5)
    mic.feed(check).wait(30)
    _until(lambda: backend.audit(CANDIDATE, "preflight_recorded"), 15, "the check saved")
    time.sleep(SETTLE)
    x.key("Tab", "Tab", "space")  # past "Practice an answer" to "Start the interview"
    _until(lambda: backend.audit(CANDIDATE, "interview_started"), 20, "streaming started")


def measure(kiosk: Kiosk, backend: Backend, seconds: float) -> dict[str, Any]:
    """CPU and RSS of the kiosk, sampled every second for ``seconds``."""
    lifetime_peak = status_kib(kiosk.pid, "VmHWM")
    # Reset the peak so it is the interview's, not start-up's; if not allowed, the max of the
    # sampled VmRSS stands in (and says so).
    peak_reset = reset_peak_rss(kiosk.pid)
    bytes0, backend0 = backend.recorded_bytes(), cpu_seconds(backend.process.pid)
    start = previous = time.monotonic()
    cpu0 = cpu_prev = cpu_seconds(kiosk.pid)
    per_second: list[float] = []
    rss: list[int] = []
    tick = 0
    while previous - start < seconds - 1e-6:
        tick += 1
        time.sleep(max(0.0, start + tick - time.monotonic()))  # on a fixed 1-s grid
        kiosk.alive()
        now, cpu = time.monotonic(), cpu_seconds(kiosk.pid)
        per_second.append(100 * (cpu - cpu_prev) / (now - previous))
        rss.append(status_kib(kiosk.pid, "VmRSS"))
        previous, cpu_prev = now, cpu
    wall = previous - start
    stored = backend.recorded_bytes() - bytes0
    peak = status_kib(kiosk.pid, "VmHWM") if peak_reset else max(rss)
    return {
        "seconds": round(wall, 2),
        "cpu_percent_mean": round(100 * (cpu_prev - cpu0) / wall, 1),  # 100 = one core busy
        "cpu_percent_max_1s": round(max(per_second), 1),
        "cpu_percent_per_second": [round(p, 1) for p in per_second],
        "peak_rss_mib": _mib(peak),
        "peak_rss_source": "VmHWM after clear_refs" if peak_reset else "max sampled VmRSS",
        "rss_mib_end": _mib(rss[-1]),
        "peak_rss_since_start_mib": _mib(max(lifetime_peak, peak)),
        "stored_bytes": stored,
        "expected_bytes": round(BYTES_PER_SECOND * wall),
        "backend_cpu_percent_mean": round(
            100 * (cpu_seconds(backend.process.pid) - backend0) / wall, 1
        ),
    }


def interview(
    seconds: float, env: dict[str, str], mic: VirtualMic, display: str, work: Path
) -> dict[str, Any]:
    row: dict[str, Any] = {"phase": "interview", "kiosk": "source"}
    backend: Backend | None = None
    kiosk: Kiosk | None = None
    feed: subprocess.Popen[bytes] | None = None
    try:
        check = synthesize_speech("I am ready for my interview today.", work / "check.wav")
        speech = synthesize_speech(SPEECH, work / "speech.wav")
        # Speech with no pause for the whole window and a margin: sox repeats the sentence.
        soxi = ["soxi", "-D", str(speech)]
        length = float(subprocess.run(soxi, capture_output=True, text=True, check=True).stdout)
        long_speech = work / "speech-long.wav"
        repeats = str(int((seconds + 20) / length) + 1)
        subprocess.run(["sox", str(speech), str(long_speech), "repeat", repeats], check=True)
        data = work / "interview-backend"
        accounts = seed_demo(SOURCE_BACKEND, data, env)
        backend = Backend(data, env, work / "interview-backend.log")
        (work / "interview-kiosk").mkdir()
        config = kiosk_config(
            work / "kiosk-interview.toml", "bench-interview", work / "interview-kiosk"
        )
        # --backend-url: the kiosk reads the backend's address from the command line only
        # (kiosk/app.py passes args.backend_url, not the config's backend_url).
        command = [str(SOURCE_KIOSK), "--config", str(config), "--backend-url", backend.url]
        kiosk = Kiosk(command, env, work / "interview-kiosk.log")
        running, port = kiosk, backend.port

        def connected() -> bool:
            running.alive()
            return port in sockets(running.pid)[1]

        _until(connected, 60, "the kiosk connected to the backend")
        print("  interview: driving the kiosk to the interview screen ...", file=sys.stderr)
        drive_to_interview(XDriver(display), backend, mic, accounts, check)
        _until(backend.recorded_bytes, 10, "audio in the recording")
        feed = mic.feed(long_speech)
        time.sleep(2.0)  # past the stream's first acks: the steady state is what is measured
        print(f"  interview: measuring {seconds:g} s ...", file=sys.stderr, flush=True)
        row |= measure(kiosk, backend, seconds)
        # Finish as the candidate would (the main button has the focus; Tab passes "Repeat
        # the question" and reaches "Finish").
        XDriver(display).key("Tab", "Tab", "space")
        with contextlib.suppress(BenchError):
            _until(lambda: backend.audit(CANDIDATE, "interview_completed"), 30, "completed")
        row["completed"] = bool(backend.audit(CANDIDATE, "interview_completed"))
    except (
        BenchError,
        XDriverError,
        OSError,
        ValueError,
        KeyError,
        httpx.HTTPError,
        subprocess.SubprocessError,
    ) as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"
        if kiosk is not None:
            row["kiosk_output"] = kiosk.last()
    finally:
        if feed is not None and feed.poll() is None:
            feed.terminate()
            feed.wait(5)
        if kiosk is not None:
            row["exit_code"], _ = kiosk.stop()
        if backend is not None:
            backend.stop()
    return row


# --- output --------------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _m(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_table(summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    head = f"{'start-up':<10}{'runs':>5}{'paint med':>11}{'min':>7}{'max':>7}{'ready med':>11}"
    head += f"{'peak RSS MiB':>14}{'errors':>8}"
    print(head)
    print("-" * len(head))
    for kind in ("source", "bundle"):
        s = summary.get(kind)
        if not s:
            continue
        if "skipped" in s:
            print(f"{kind:<10}  skipped: {s['skipped']}")
            continue
        paint, ready = s["paint_s"], s["ready_s"]
        print(
            f"{kind:<10}{s['runs']:>5}{_s(paint['median']):>11}{_s(paint['min']):>7}"
            f"{_s(paint['max']):>7}{_s(ready['median']):>11}"
            f"{_m(s['peak_rss_mib']['median']):>14}{s['errors']:>8}"
        )
        if "note" in s:
            print(f"{'':<10}  {s['note']}")
    for r in rows:
        if r["phase"] == "startup" and "error" in r:
            print(f"  {r['kiosk']} run {r['run']}: {r['error']}")
    i = summary.get("interview")
    if i:
        if "error" in i:
            print(f"interview: error: {i['error']}")
        elif "skipped" in i:
            print(f"interview: skipped: {i['skipped']}")
        else:
            print(
                f"interview ({i['seconds']:.0f} s, source): kiosk CPU {i['cpu_percent_mean']:.1f} "
                f"% of a core (max 1-s {i['cpu_percent_max_1s']:.1f} %), peak RSS "
                f"{i['peak_rss_mib']:.1f} MiB; stored {i['stored_bytes']} of "
                f"{i['expected_bytes']} bytes expected; backend CPU "
                f"{i['backend_cpu_percent_mean']:.1f} %"
            )


def render_markdown(data: dict[str, Any], source: str) -> list[str]:
    """The "## Kiosk" section of docs/benchmarks.md (benchmarks/report.py calls this)."""
    params, summary = data["params"], data["summary"]
    lines = [
        "## Kiosk",
        "",
        "Start-up: the time from starting the kiosk process to its locked screen first painted "
        "(the kiosk logs `first_paint screen=locked` from the locked view's first paint event; "
        "the benchmark stamps the line as it arrives on the process's stdout). The kiosk runs "
        "full-screen on a private Xvfb (xcb) with its embedded backend on a seeded data dir, as "
        "tests/test_frozen_flow.py runs it; from source (`.venv/bin/interview-kiosk`) and from "
        f'the PyInstaller bundle, interleaved, {params["runs"]} starts each. "Ready" is when '
        "the embedded backend listens and the kiosk is connected to it; the peak RSS (VmHWM) "
        "is read one second after that, at the locked screen.",
        "",
        f"Interview: from source, against a separate backend process, driven by keyboard "
        f"(xdotool) to the interview screen, speech playing into a PulseAudio virtual "
        f"microphone; the kiosk process's CPU and RSS are sampled every second for "
        f"{params['interview_seconds']:g} s while it streams.",
        "",
        run_line(data, source),
        "",
        "| Kiosk | Starts | Locked screen painted, median (s) | Min (s) | Max (s) | "
        "Ready, median (s) | RSS at paint, median (MiB) | Peak RSS at locked, median (MiB) | "
        "Errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    notes = []
    for kind in ("source", "bundle"):
        s = summary.get(kind)
        if not s:
            continue
        if "skipped" in s:
            lines.append(f"| {kind} | skipped: {s['skipped']} | | | | | | | |")
            continue
        paint, ready = s["paint_s"], s["ready_s"]
        lines.append(
            f"| {kind} | {s['runs']} | {_s(paint['median'])} | {_s(paint['min'])} | "
            f"{_s(paint['max'])} | {_s(ready['median'])} | "
            f"{_m(s['rss_at_paint_mib']['median'])} | {_m(s['peak_rss_mib']['median'])} | "
            f"{s['errors']} |"
        )
        if "note" in s:
            notes.append(f"{kind}: {s['note']}.")
    i = summary.get("interview") or {}
    lines += [""]
    if "error" in i or "skipped" in i:
        lines.append(
            f"Interview: {'error' if 'error' in i else 'skipped'}: "
            f"{i.get('error') or i.get('skipped')}"
        )
    elif i:
        lines += [
            "| Interview (s) | Kiosk CPU, mean (% of a core) | Kiosk CPU, max 1-s (%) | "
            "Kiosk peak RSS (MiB) | Stored / expected bytes | Backend CPU, mean (%) |",
            "|--:|--:|--:|--:|--:|--:|",
            f"| {i['seconds']:.0f} | {i['cpu_percent_mean']:.1f} | "
            f"{i['cpu_percent_max_1s']:.1f} | {i['peak_rss_mib']:.1f} | "
            f"{i['stored_bytes']} / {i['expected_bytes']} | "
            f"{i['backend_cpu_percent_mean']:.1f} |",
        ]
    lines += [
        "",
        "The paint time covers starting Python (from source) or the bundle's bootloader, "
        "importing Qt and the kiosk, and building every screen. The embedded backend starts "
        'after the window is shown, so it is in "ready", not in the paint time, and it lives '
        "in the kiosk process: the start-up RSS includes it, the interview's (a separate "
        "backend) does not. Peak RSS in the interview is VmHWM reset at the start of the "
        'window, so it is the interview\'s own. "Stored" is what the server appended to the '
        "recording during the window; 16 kHz mono 16-bit audio is 32000 bytes a second.",
        *(["", *notes] if notes else []),
        "",
    ]
    return lines


# --- the run --------------------------------------------------------------------------------------


def _missing_tools(names: list[str]) -> list[str]:
    return [name for name in names if shutil.which(name) is None]


def main() -> int:
    parser = argparse.ArgumentParser(description="Kiosk start-up and interview cost.")
    parser.add_argument("--quick", action="store_true", help="3 starts each, 10 s interview")
    parser.add_argument("--runs", type=int, help="starts per kiosk (default 5; quick 3)")
    parser.add_argument(
        "--interview-seconds",
        type=float,
        help="interview window in s (default 60; quick 10; 0 skips it)",
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        default=DEFAULT_BUNDLE,
        help="the bundle's interview-kiosk (or its directory)",
    )
    parser.add_argument("--out", type=Path, help="results file (default benchmarks/results/)")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    seconds = (
        (10.0 if args.quick else 60.0) if args.interview_seconds is None else args.interview_seconds
    )
    bundle: Path | None = args.bundle.resolve()  # a /usr/bin link leads to the bundle itself
    if args.bundle.is_dir():
        bundle = args.bundle.resolve() / "interview-kiosk"
    if missing := _missing_tools(["Xvfb"]):
        print(
            f"kiosk_startup: cannot run: {', '.join(missing)} missing (make test-system-deps)",
            file=sys.stderr,
        )
        return 1
    if not SOURCE_KIOSK.exists():
        print(
            f"kiosk_startup: cannot run: {SOURCE_KIOSK} missing (make bootstrap)", file=sys.stderr
        )
        return 1
    started, at_start = datetime.now(UTC), machine()
    rows: list[dict[str, Any]] = []
    if bundle is None or not os.access(bundle, os.X_OK):
        skipped = f"no bundle at {args.bundle}: run make package first"
        rows.append({"phase": "startup", "kiosk": "bundle", "skipped": skipped})
        bundle = None
    mic: VirtualMic | None = None
    interview_row: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="ik-bench-kiosk-") as tmp, running_xvfb() as display:
        work = Path(tmp)
        try:
            if not _missing_tools(["pulseaudio", "pactl", "parec", "paplay"]):
                with contextlib.suppress(VirtualMicError):
                    mic = VirtualMic().start()
            env = base_env(display, mic)
            rows += startup(runs, bundle, env, work)
            missing = _missing_tools(["xdotool", "espeak-ng", "sox", "soxi"])
            if seconds <= 0:
                interview_row = {"phase": "interview", "skipped": "--interview-seconds 0"}
            elif mic is None or missing:
                reason = "the virtual microphone did not start" if mic is None else ""
                interview_row = {
                    "phase": "interview",
                    "skipped": reason or f"missing {', '.join(missing)}",
                }
            else:
                interview_row = interview(seconds, env, mic, display, work)
            rows.append(interview_row)
        finally:
            if mic is not None:
                mic.stop()
    summary: dict[str, Any] = {
        "source": startup_summary(rows, "source"),
        "bundle": startup_summary(rows, "bundle"),
        "interview": {
            k: v
            for k, v in (interview_row or {}).items()
            if k not in ("phase", "cpu_percent_per_second")
        },
    }
    body = {
        "mode": "quick" if args.quick else "full",
        "machine": at_start,
        "params": {
            "runs": runs,
            "interview_seconds": seconds,
            "source_kiosk": str(SOURCE_KIOSK.relative_to(ROOT)),
            "bundle": str(bundle or args.bundle),
            "display": "Xvfb 1280x800x24, QT_QPA_PLATFORM=xcb, no window manager",
            "startup_backend": "embedded, data dir seeded by the kiosk's own seed-demo",
            "interview_backend": "interview-backend serve (source), demo data",
            "paint_marker": "first_paint screen=locked (kiosk stdout)",
        },
        "summary": summary,
        "rows": rows,
    }
    out = write_results("kiosk_startup", started, body, args.out)
    print_table(summary, rows)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
