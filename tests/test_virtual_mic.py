"""The virtual microphone is real: speech played into it comes out of sounddevice intact."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from support.audio import best_alignment, read_pcm16, synthesize_speech
from support.vmic import VirtualMic

pytestmark = pytest.mark.vmic


def test_espeak_speech_is_captured_through_sounddevice(
    virtual_mic: VirtualMic, tmp_path: Path
) -> None:
    import sounddevice as sd

    source = read_pcm16(
        synthesize_speech("Tell me about a project you are proud of.", tmp_path / "q.wav")
    )
    blocks: list[bytes] = []
    lock = threading.Lock()

    def on_block(indata: object, frames: int, _time: object, status: object) -> None:
        with lock:
            blocks.append(bytes(indata))  # type: ignore[call-overload]

    # The default input: PortAudio -> ALSA default -> pulse -> the virtual source.
    with sd.RawInputStream(
        samplerate=16000, channels=1, dtype="int16", blocksize=320, latency="low",
        callback=on_block,
    ):  # fmt: skip
        time.sleep(0.3)
        virtual_mic.feed(tmp_path / "q.wav").wait(30)
        time.sleep(0.5)
    captured = np.frombuffer(b"".join(blocks), dtype=np.int16)

    assert len(captured) > len(source)
    lag, ncc = best_alignment(captured, source)
    assert ncc >= 0.99, f"normalized cross-correlation {ncc:.4f} at lag {lag}"
    # Before the speech starts the microphone hears silence, not noise.
    assert np.abs(captured[: max(lag - 160, 1)]).max() < 50


def test_default_input_device_is_the_virtual_source(virtual_mic: VirtualMic) -> None:
    from kiosk.audio.devices import list_input_devices

    devices = list_input_devices()
    assert any(device.is_default for device in devices)
    assert "vmic" in virtual_mic.pactl("get-default-source")
