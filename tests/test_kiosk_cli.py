"""The kiosk's command line as IT staff and `make run` use it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from support.vmic import VirtualMic


def _kiosk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=90,
    )


def _checks(stdout: str) -> dict[str, str]:
    return {
        line.split()[1]: line for line in stdout.splitlines() if line.startswith(("ok", "FAIL"))
    }


def test_help_lists_the_subcommands() -> None:
    result = _kiosk("--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.partition("commands:")[2]
    assert re.search(r"^\s+stream-file\s+stream a WAV", commands, re.MULTILINE), result.stdout
    assert re.search(r"^\s+hash-pin\s+print the argon2 hash", commands, re.MULTILINE), result.stdout
    assert "--windowed" in result.stdout and "--self-test" in result.stdout


def test_hash_pin_help_prints_usage_without_reading_a_pin() -> None:
    # stdin stays open and empty: a command that read a PIN would wait here for ever.
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "hash-pin", "--help"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("hash-pin --help is waiting for input") from None
    stdout, stderr = process.communicate()  # only now is stdin closed
    assert code == 0, stderr
    assert stdout.startswith("usage: interview-kiosk hash-pin"), stdout
    assert "exit PIN" in stdout
    assert "$argon2" not in stdout


def test_options_before_a_subcommand_are_refused_not_ignored() -> None:
    result = _kiosk("--backend-url", "http://central:8000", "hash-pin")
    assert result.returncode == 2
    assert "hash-pin takes its options after it" in result.stderr


def test_sigterm_stops_the_kiosk_and_its_embedded_backend_cleanly(
    xvfb_display: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IK_KIOSK_")}
    env |= {"DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"}
    (tmp_path / "kiosk.toml").write_text(f'data_dir = "{tmp_path}"\n')
    log = tmp_path / "kiosk.log"
    with log.open("w") as output:
        kiosk = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "--config", str(tmp_path / "kiosk.toml")],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        # The embedded backend writes its JWT secret as it starts, before it serves.
        deadline = time.monotonic() + 60
        while not (tmp_path / "jwt-secret").exists():
            assert kiosk.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no embedded backend in 60 s: {log.read_text()}"
            time.sleep(0.1)
        time.sleep(1)  # the kiosk connects to it and waits at the locked screen
        kiosk.send_signal(signal.SIGTERM)
        code = kiosk.wait(15)
    finally:
        if kiosk.poll() is None:
            kiosk.kill()
            kiosk.wait(10)
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text()


def test_self_test_checks_backend_window_and_audio_and_passes(virtual_mic: VirtualMic) -> None:
    result = _kiosk("--self-test")  # the virtual microphone is the default input here
    assert result.returncode == 0, result.stdout + result.stderr
    by_check = _checks(result.stdout)
    assert set(by_check) == {"backend", "window", "audio"}
    assert all(line.startswith("ok") for line in by_check.values())
    assert "/health ok" in by_check["backend"]
    assert "offscreen" in by_check["window"]
    assert re.search(r"recorded 0\.[45]\d s from ", by_check["audio"]), by_check["audio"]
    assert result.stdout.splitlines()[-1] == "self-test passed"


def test_self_test_fails_plainly_on_a_seat_without_a_microphone() -> None:
    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent/pulse/native"}
    result = _kiosk("--self-test", env=env)
    assert result.returncode == 1
    by_check = _checks(result.stdout)
    assert by_check["audio"] == "FAIL audio    no input device: connect the seat's microphone"
    assert by_check["backend"].startswith("ok")
    assert result.stdout.splitlines()[-1] == "self-test FAILED: audio"
    assert "Traceback" not in result.stdout + result.stderr


def test_without_a_display_it_says_so_in_one_line_and_exits_nonzero() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    result = _kiosk(env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no display" in lines[0] and "make serve" in lines[0]


def test_a_broken_config_file_is_named_in_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('kiosk_id = "seat-1"\nidle_minutes = "ten"\n')
    result = _kiosk("--config", str(config), "--self-test")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"interview-kiosk: {config}: idle_minutes must be a whole number, not 'ten'"
    )
    assert "Traceback" not in result.stderr


class _HealthRecorder(BaseHTTPRequestHandler):
    """A stand-in backend that only answers /health and remembers who asked."""

    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # the name http.server dispatches to
        type(self).paths.append(self.path)
        body = b'{"status": "ok", "version": "test", "database": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def test_the_kiosk_talks_to_the_backend_its_config_names(xvfb_display: str, tmp_path: Path) -> None:
    """IT staff set backend_url in kiosk.toml or IK_KIOSK_BACKEND_URL, not on a command line:
    the kiosk must use it rather than start its embedded backend."""
    _HealthRecorder.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HealthRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IK_KIOSK_")}
        env |= {"DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"}
        env["IK_KIOSK_BACKEND_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
        (tmp_path / "kiosk.toml").write_text(f'data_dir = "{tmp_path}"\n')
        result = _kiosk("--config", str(tmp_path / "kiosk.toml"), "--exit-after", "4", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/health" in _HealthRecorder.paths
    # The embedded backend would have migrated a database into the data directory.
    assert not list(tmp_path.glob("*.db")), sorted(p.name for p in tmp_path.iterdir())
