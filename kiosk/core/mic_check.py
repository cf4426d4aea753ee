"""The seat's microphone check: noise floor, speech level and clipping over a few seconds of
captured PCM, and a plain verdict. Pure Python (no numpy in the kiosk)."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

FULL_SCALE = 32768.0
CLIP_LEVEL = 32000
# Thresholds in dBFS. Speech from a seated candidate at a headset or desk microphone sits
# around -30..-12 dBFS; below -40 the recognizer and the reviewer both struggle.
TOO_QUIET_DBFS = -40.0
TOO_NOISY_DBFS = -45.0
MIN_SNR_DB = 15.0
MAX_CLIPPED_FRACTION = 0.001


def block_dbfs(block: bytes) -> float:
    """RMS level of a block of int16 samples, in dBFS (-inf..0)."""
    samples = array("h", block)
    if not samples:
        return -120.0
    mean_square = sum(s * s for s in samples) / len(samples)
    return 20 * math.log10(max(math.sqrt(mean_square), 1.0) / FULL_SCALE)


@dataclass(frozen=True)
class MicCheckResult:
    noise_floor_dbfs: float
    speech_level_dbfs: float
    clipped_fraction: float
    fit: bool
    verdict: str

    def as_json(self) -> dict[str, object]:
        return {
            "noise_floor_dbfs": round(self.noise_floor_dbfs, 1),
            "speech_level_dbfs": round(self.speech_level_dbfs, 1),
            "clipped_fraction": round(self.clipped_fraction, 5),
            "fit": self.fit,
            "verdict": self.verdict,
        }


# The floor and the level are judged over 20 ms windows whatever size the capture's blocks
# are: a pause between two words is long enough to show the room's noise.
WINDOW_BYTES = 640  # 20 ms of 16 kHz mono int16


def analyse(blocks: list[bytes]) -> MicCheckResult:
    """Judge a check recording: the quietest tenth of 20 ms windows is the noise floor, the
    loudest tenth is the speech level."""
    audio = b"".join(blocks)
    windows = [audio[start : start + WINDOW_BYTES] for start in range(0, len(audio), WINDOW_BYTES)]
    levels = sorted(block_dbfs(w) for w in windows if len(w) >= 2)
    if not levels:
        return MicCheckResult(
            -120.0, -120.0, 0.0, False, "No sound at all: is a microphone connected?"
        )
    tenth = max(1, len(levels) // 10)
    noise = sum(levels[:tenth]) / tenth
    speech = sum(levels[-tenth:]) / tenth
    total = clipped = 0
    for block in blocks:
        samples = array("h", block)
        total += len(samples)
        clipped += sum(1 for s in samples if abs(s) >= CLIP_LEVEL)
    clipped_fraction = clipped / total if total else 0.0
    if clipped_fraction > MAX_CLIPPED_FRACTION:
        verdict, fit = "Clipping: lower the microphone gain or move back a little.", False
    elif speech < TOO_QUIET_DBFS:
        verdict, fit = "Too quiet: move closer to the microphone and speak up.", False
    elif noise > TOO_NOISY_DBFS and speech - noise < MIN_SNR_DB:
        verdict, fit = "Too noisy: the room is loud; ask the proctor for a quieter seat.", False
    else:
        verdict, fit = "The microphone is working well.", True
    return MicCheckResult(noise, speech, clipped_fraction, fit, verdict)
