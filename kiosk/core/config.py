"""The kiosk's configuration: one TOML file per workstation.

Looked up in this order: ``--config``, ``$IK_KIOSK_CONFIG``, ``/etc/interview-kiosk/kiosk.toml``
(what the .deb installs), the user config directory. With none present the defaults apply:
an embedded backend and this machine's host name as the kiosk id.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from kiosk.core.errors import ConfigError

SYSTEM_CONFIG = Path("/etc/interview-kiosk/kiosk.toml")


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir("interview-kiosk", appauthor=False)) / "kiosk.toml"


_TEXT = (str, "text in quotes")
_EXPECTED: dict[str, tuple[type, str]] = {
    "kiosk_id": _TEXT,
    "test_center": _TEXT,
    "backend_url": _TEXT,
    "data_dir": _TEXT,
    "exit_pin_hash": _TEXT,
    "idle_minutes": (int, "a whole number"),
    "allow_practice": (bool, "true or false"),
}


@dataclass(frozen=True)
class KioskConfig:
    kiosk_id: str
    test_center: str = "Test center"
    # None: run the bundled backend inside the kiosk process.
    backend_url: str | None = None
    # Where the embedded backend keeps its database and recordings (None: platform default).
    data_dir: Path | None = None
    # argon2 hash of the exit PIN; the PIN itself is never stored.
    exit_pin_hash: str | None = None
    idle_minutes: int = 10
    allow_practice: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], source: str) -> KioskConfig:
        """Validate ``values`` (a parsed TOML table); ``source`` names it in errors."""
        unknown = sorted(set(values) - set(_EXPECTED))
        if unknown:
            raise ConfigError(f"{source}: unknown setting(s): {', '.join(unknown)}")
        for name, value in values.items():
            kind, description = _EXPECTED[name]
            # bool is an int in Python; `idle_minutes = true` is still a mistake.
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                raise ConfigError(f"{source}: {name} must be {description}, not {value!r}")
        backend_url = values.get("backend_url")
        if isinstance(backend_url, str) and not backend_url.startswith(("http://", "https://")):
            raise ConfigError(f"{source}: backend_url must start with http:// or https://")
        idle_minutes = values.get("idle_minutes", 10)
        if isinstance(idle_minutes, int) and idle_minutes < 1:
            raise ConfigError(f"{source}: idle_minutes must be at least 1")
        data_dir = values.get("data_dir")
        return cls(
            kiosk_id=str(values.get("kiosk_id") or socket.gethostname()),
            test_center=str(values.get("test_center", "Test center")),
            backend_url=backend_url.rstrip("/") if isinstance(backend_url, str) else None,
            data_dir=Path(data_dir).expanduser() if isinstance(data_dir, str) else None,
            exit_pin_hash=str(values["exit_pin_hash"]) if "exit_pin_hash" in values else None,
            idle_minutes=int(str(idle_minutes)),
            allow_practice=bool(values.get("allow_practice", True)),
        )

    @classmethod
    def load(cls, path: Path | None = None, env: Mapping[str, str] | None = None) -> KioskConfig:
        """Load the first configuration file found (see the module docstring)."""
        env = os.environ if env is None else env
        candidates = (
            [path]
            if path is not None
            else [Path(env["IK_KIOSK_CONFIG"])]
            if env.get("IK_KIOSK_CONFIG")
            else [SYSTEM_CONFIG, user_config_path()]
        )
        for candidate in candidates:
            try:
                raw = candidate.read_bytes()
            except FileNotFoundError:
                if path is not None or env.get("IK_KIOSK_CONFIG"):
                    raise ConfigError(f"{candidate}: configuration file not found") from None
                continue
            try:
                values = tomllib.loads(raw.decode("utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{candidate}: not valid TOML: {exc}") from None
            return cls.from_mapping(values, str(candidate))
        return cls.from_mapping({}, "defaults")


def kiosk_data_dir(config: KioskConfig, env: Mapping[str, str] | None = None) -> Path:
    """Where this kiosk keeps its spool and lock (and the embedded backend its data):
    ``data_dir`` from the config, else ``$IK_DATA_DIR`` as for the backend, else the
    platform's user data directory."""
    env = os.environ if env is None else env
    if config.data_dir is not None:
        return config.data_dir
    if env.get("IK_DATA_DIR"):
        return Path(env["IK_DATA_DIR"])
    return Path(platformdirs.user_data_dir("interview-kiosk", appauthor=False))
