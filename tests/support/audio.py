"""Speech fixtures and signal comparison for audio tests."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np


def synthesize_speech(text: str, path: Path, rate: int = 16000) -> Path:
    """espeak-ng speech resampled by sox to ``rate`` Hz mono signed 16-bit."""
    raw = path.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True)
    subprocess.run(
        [
            "sox",
            str(raw),
            "-r",
            str(rate),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            str(path),
        ],
        check=True,
    )
    raw.unlink()
    return path


def read_pcm16(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


def best_alignment(captured: np.ndarray, source: np.ndarray) -> tuple[int, float]:
    """Lag of ``source`` inside ``captured`` and the normalized cross-correlation there."""
    cap = captured.astype(np.float64)
    src = source.astype(np.float64)
    n = 1 << int(np.ceil(np.log2(len(cap) + len(src))))
    xc = np.fft.irfft(np.fft.rfft(cap, n) * np.conj(np.fft.rfft(src, n)), n)
    lag = int(np.argmax(xc[: len(cap)]))
    segment = cap[lag : lag + len(src)]
    src = src[: len(segment)]
    denom = np.linalg.norm(segment) * np.linalg.norm(src)
    return lag, float(np.dot(segment, src) / denom) if denom else 0.0
