"""Microphone access through sounddevice (PortAudio)."""
