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


# The speaker runs at the speech engines' rate (espeak-ng and Piper: 22,050 Hz), so what the
# kiosk plays reaches the speaker's monitor sample for sample, with no resampler between.
SPEAKER_RATE = 22050


class VirtualMic:
    """Also a virtual speaker: the default sink ``spk``, whose monitor a test records."""

    def __init__(self, rate: int = 16000, speaker_rate: int = SPEAKER_RATE) -> None:
        self.rate = rate
        self.speaker_rate = speaker_rate
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
            f"--load=module-null-sink sink_name=spk rate={self.speaker_rate} channels=1"
            " format=s16le",
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

    def record_speaker(self, path: Path) -> subprocess.Popen[bytes]:
        """Record what the seat's speaker plays (the ``spk`` monitor) into ``path`` as raw
        mono s16le at ``speaker_rate``, until the process is terminated. A low-latency reader
        also keeps the sink from rendering in 2-second blocks."""
        # A sound card never stops running; a null sink with no input does, and then drops
        # the start of the next sound. Silence played all along keeps it running, and adds
        # nothing to what it mixes.
        with open("/dev/zero", "rb") as zeros:
            self._procs.append(subprocess.Popen(
                ["pacat", "--playback", "--device=spk", "--raw", "--latency-msec=10",
                 f"--rate={self.speaker_rate}", "--channels=1", "--format=s16le"],
                env=self._env(), stdin=zeros, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
        readers = self.pactl("list", "short", "source-outputs").count("\n")
        out = path.open("wb")
        try:
            recorder = subprocess.Popen(
                ["parec", "--latency-msec=10", "--device=spk.monitor", "--raw",
                 f"--rate={self.speaker_rate}", "--channels=1", "--format=s16le"],
                env=self._env(), stdout=out, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            out.close()  # the child has its own descriptor
        self._procs.append(recorder)
        deadline = time.monotonic() + 10
        while self.pactl("list", "short", "source-outputs").count("\n") <= readers:
            if time.monotonic() > deadline:
                raise VirtualMicError("the speaker's recorder did not connect")
            time.sleep(0.02)
        # As for the microphone: without a suspend and resume, the idle sink goes on
        # rendering 2-second blocks and the start of the next sound never reaches the monitor.
        self.pactl("suspend-sink", "spk", "1")
        self.pactl("suspend-sink", "spk", "0")
        return recorder

    def open_speaker(self) -> None:
        """A seat with open speakers and no headset: the microphone hears what the speaker
        plays (a loopback from the speaker's monitor into the microphone's feed)."""
        self.pactl(
            "load-module", "module-loopback", "source=spk.monitor", "sink=micfeed",
            "latency_msec=20",
        )  # fmt: skip

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
