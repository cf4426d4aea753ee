"""Listing input devices. ``sounddevice`` is imported lazily: it costs 40-60 ms and fails
with OSError when the system's PortAudio is missing, which must be a clear message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.core.errors import AudioDeviceError


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_samplerate: float
    is_default: bool


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # PortAudio shared library not found
        raise AudioDeviceError(
            "PortAudio is not installed (Debian/Ubuntu: apt-get install libportaudio2)"
        ) from exc
    return sounddevice


def list_input_devices() -> list[InputDevice]:
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        default_input = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"cannot list audio devices: {exc}") from exc
    return [
        InputDevice(
            index=index,
            name=str(device["name"]),
            channels=int(device["max_input_channels"]),
            default_samplerate=float(device["default_samplerate"]),
            is_default=index == default_input,
        )
        for index, device in enumerate(devices)
        if device["max_input_channels"] > 0
    ]
