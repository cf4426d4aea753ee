"""Kiosk mode rules with no Qt: the exit PIN (argon2 hash only) and one kiosk per workstation."""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path
from typing import IO

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kiosk.core.errors import KioskError

_hasher = PasswordHasher()
MIN_PIN_LENGTH = 4


def hash_pin(pin: str) -> str:
    """The value to put in kiosk.toml as ``exit_pin_hash``."""
    if len(pin) < MIN_PIN_LENGTH or not pin.isdigit():
        raise KioskError(f"the exit PIN must be at least {MIN_PIN_LENGTH} digits")
    return _hasher.hash(pin)


def _matches(pin_hash: str, pin: str) -> bool:
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


async def pin_matches(pin_hash: str | None, pin: str) -> bool:
    """False when no PIN is configured: then only a proctor sign-in leaves kiosk mode."""
    if not pin_hash or not pin:
        return False
    return await asyncio.to_thread(_matches, pin_hash, pin)


class AlreadyRunning(KioskError):
    pass


class InstanceLock:
    """An exclusive lock on ``<data dir>/kiosk.lock`` held for the life of the process; the
    kernel drops it if the process dies, so a crash never leaves the seat locked out."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise AlreadyRunning(
                "Interview Kiosk is already running on this workstation."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
