"""A real virtual microphone: a private PulseAudio daemon with a null sink whose monitor feeds
a virtual source. PortAudio -> ALSA "pulse" -> this daemon, so sounddevice captures exactly the
samples played into it (bit-exact at 16 kHz mono s16le).

Two traps (measured): an idle null sink renders 2-second blocks, so a low-latency keep-alive
reader and a suspend/resume cycle are needed or a new capture stream misses its first second;
and PULSE_SERVER etc. must be set before PortAudio initialises.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class VirtualMicError(RuntimeError):
    pass


class VirtualMic:
    def __init__(self, rate: int = 16000) -> None:
        self.rate = rate
        self.dir = Path(tempfile.mkdtemp(prefix="ik-vmic-"))
        self.env = {
            "PULSE_SERVER": f"unix:{self.dir}/native",
            "PULSE_COOKIE": f"{self.dir}/cookie",
            "XDG_RUNTIME_DIR": f"{self.dir}/run",
        }
        self._procs: list[subprocess.Popen[bytes]] = []

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def pactl(self, *args: str) -> str:
        return subprocess.run(
            ["pactl", *args], env=self._env(), check=True, capture_output=True, text=True
        ).stdout

    def start(self, timeout: float = 10.0) -> VirtualMic:
        (self.dir / "run").mkdir(mode=0o700)
        (self.dir / "home").mkdir()
        d, r = self.dir, self.rate
        cmd = [
            "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
            f"--log-target=file:{d}/pulse.log", "--log-level=notice",
            f"--load=module-native-protocol-unix auth-anonymous=1 socket={d}/native",
            f"--load=module-null-sink sink_name=spk rate={r} channels=1 format=s16le",
            f"--load=module-null-sink sink_name=micfeed rate={r} channels=1 format=s16le",
            "--load=module-virtual-source source_name=vmic master=micfeed.monitor",
        ]  # fmt: skip
        daemon = subprocess.Popen(
            cmd, env={**self._env(), "HOME": str(d / "home")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._procs.append(daemon)
        deadline = time.monotonic() + timeout
        while subprocess.run(["pactl", "info"], env=self._env(), capture_output=True).returncode:
            if daemon.poll() is not None or time.monotonic() > deadline:
                log = (d / "pulse.log").read_text() if (d / "pulse.log").exists() else ""
                self.stop()
                raise VirtualMicError(f"pulseaudio did not start: {log}")
            time.sleep(0.03)
        self.pactl("set-default-sink", "spk")
        self.pactl("set-default-source", "vmic")
        keep_alive = subprocess.Popen(
            ["parec", "--latency-msec=10", "--device=micfeed.monitor", "--raw"],
            env=self._env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._procs.append(keep_alive)
        while self.pactl("list", "short", "source-outputs").count("\n") < 2:
            if time.monotonic() > deadline:
                self.stop()
                raise VirtualMicError("the keep-alive reader did not connect")
            time.sleep(0.02)
        self.pactl("suspend-sink", "micfeed", "1")
        self.pactl("suspend-sink", "micfeed", "0")
        return self

    def feed(self, wav: Path) -> subprocess.Popen[bytes]:
        """Play ``wav`` into the microphone; returns at once (``.wait()`` to block)."""
        return subprocess.Popen(["paplay", "--device=micfeed", str(wav)], env=self._env())

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(3)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
