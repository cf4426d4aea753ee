"""The kiosk's configuration: TOML files per workstation, then environment variables.

Layers, each overriding the one before it setting by setting:

1. ``/etc/interview-kiosk/kiosk.toml`` (what the .deb installs and IT edits);
2. ``kiosk.toml`` in the user config directory (a workstation's local tweaks);
3. ``IK_KIOSK_<SETTING>`` environment variables (``IK_KIOSK_BACKEND_URL``, ...).

``--config`` or ``$IK_KIOSK_CONFIG`` names one file that replaces layers 1 and 2 (the
environment still applies). With nothing set, the defaults apply: an embedded backend and
this machine's host name as the kiosk id. Every mistake is one ``ConfigError`` naming the
file or variable, the setting, and what is wrong.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from kiosk.core.errors import ConfigError
from kiosk.core.tls import parse_pin

SYSTEM_CONFIG = Path("/etc/interview-kiosk/kiosk.toml")
ENV_PREFIX = "IK_KIOSK_"
CONFIG_FILE_VARIABLE = "IK_KIOSK_CONFIG"
# backend_url's spelled-out default: run the bundled backend inside the kiosk process.
EMBEDDED = "embedded"


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir("interview-kiosk", appauthor=False)) / "kiosk.toml"


_TEXT = (str, "text in quotes")
# TOML reads `2` as a whole number: for a number setting that is as good as 2.0.
_NUMBER = (int, float)
# Up to 200%, as WCAG 1.4.4 (resize text) asks; never smaller than the screens were drawn for.
TEXT_SCALE_MIN, TEXT_SCALE_MAX = 1.0, 2.0
# The themes kiosk/ui/style.py draws; each but "standard" is a sheet laid over the standard one.
THEMES = ("standard", "high-contrast")
_EXPECTED: dict[str, tuple[type | tuple[type, ...], str]] = {
    "kiosk_id": _TEXT,
    "test_center": _TEXT,
    "backend_url": _TEXT,
    "data_dir": _TEXT,
    "exit_pin_hash": _TEXT,
    "audio_device": _TEXT,
    "idle_minutes": (int, "a whole number"),
    "allow_practice": (bool, "true or false"),
    "text_scale": (_NUMBER, f"a number from {TEXT_SCALE_MIN} to {TEXT_SCALE_MAX}"),
    "theme": (str, " or ".join(repr(theme) for theme in THEMES)),
    "read_questions_aloud": (bool, "true or false"),
    "kiosk_token": _TEXT,
    "ca_file": _TEXT,
    "certificate_pin": _TEXT,
}
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


@dataclass(frozen=True)
class KioskConfig:
    kiosk_id: str
    test_center: str = "Test center"
    # None: run the bundled backend inside the kiosk process ("embedded" in the file).
    backend_url: str | None = None
    # Where the embedded backend keeps its database and recordings (None: platform default).
    data_dir: Path | None = None
    # argon2 hash of the exit PIN; the PIN itself is never stored.
    exit_pin_hash: str | None = None
    # Input device preselected on the microphone check (part of its name); None: the default.
    audio_device: str | None = None
    idle_minutes: int = 10
    allow_practice: bool = True
    # Every font on screen multiplied by this, for candidates who need larger text.
    text_scale: float = 1.0
    theme: str = "standard"
    # This seat's say; a job posting can also turn reading aloud off.
    read_questions_aloud: bool = True
    # The credential `interview-backend enroll-kiosk` printed: it opens the seat's control
    # channel to the room console (None: no console; the embedded backend enrolls its own).
    kiosk_token: str | None = field(default=None, repr=False)  # a secret: never in a log
    # The test center's CA (PEM), trusted for an https:// backend besides the system store.
    ca_file: Path | None = None
    # SHA-256 of the backend's certificate: any other is refused even if a CA signed it.
    certificate_pin: bytes | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], source: str) -> KioskConfig:
        """Validate ``values`` (a parsed TOML table); ``source`` names it in errors."""
        for name, value in values.items():
            _check(name, value, source)
        backend_url = values.get("backend_url")
        if backend_url == EMBEDDED:
            backend_url = None
        idle_minutes = values.get("idle_minutes", 10)
        data_dir = values.get("data_dir")
        ca_file = values.get("ca_file")
        pin = values.get("certificate_pin")
        return cls(
            kiosk_id=str(values.get("kiosk_id") or socket.gethostname()),
            test_center=str(values.get("test_center", "Test center")),
            backend_url=backend_url.rstrip("/") if isinstance(backend_url, str) else None,
            data_dir=Path(data_dir).expanduser() if isinstance(data_dir, str) else None,
            exit_pin_hash=str(values["exit_pin_hash"]) if "exit_pin_hash" in values else None,
            audio_device=str(values["audio_device"]) if values.get("audio_device") else None,
            idle_minutes=int(str(idle_minutes)),
            allow_practice=bool(values.get("allow_practice", True)),
            text_scale=float(str(values.get("text_scale", 1.0))),
            theme=str(values.get("theme", "standard")),
            read_questions_aloud=bool(values.get("read_questions_aloud", True)),
            kiosk_token=str(values["kiosk_token"]).strip() or None
            if "kiosk_token" in values
            else None,
            ca_file=Path(ca_file).expanduser() if isinstance(ca_file, str) and ca_file else None,
            certificate_pin=parse_pin(pin) if isinstance(pin, str) and pin.strip() else None,
        )

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        env: Mapping[str, str] | None = None,
        files: Sequence[Path] | None = None,
    ) -> KioskConfig:
        """The configuration from every layer (see the module docstring). ``files`` replaces
        the system and user files (tests)."""
        env = os.environ if env is None else env
        named = path or (Path(env[CONFIG_FILE_VARIABLE]) if env.get(CONFIG_FILE_VARIABLE) else None)
        values: dict[str, object] = {}
        if named is not None:
            values.update(_read(named, required=True))
        else:
            for layer in files if files is not None else [SYSTEM_CONFIG, user_config_path()]:
                values.update(_read(layer, required=False))
        values.update(_from_environment(env))
        return cls.from_mapping(values, "configuration")


def _check(name: str, value: object, source: str) -> None:
    if name not in _EXPECTED:
        raise ConfigError(f"{source}: unknown setting {name!r} (known: {', '.join(_EXPECTED)})")
    kind, description = _EXPECTED[name]
    # bool is an int in Python; `idle_minutes = true` is still a mistake.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{source}: {name} must be {description}, not {value!r}")
    if (
        name == "backend_url"
        and value != EMBEDDED
        and not str(value).startswith(("http://", "https://"))
    ):
        raise ConfigError(
            f"{source}: backend_url must be {EMBEDDED!r} or start with http:// or https://, "
            f"not {value!r}"
        )
    if name == "idle_minutes" and isinstance(value, int) and value < 1:
        raise ConfigError(f"{source}: idle_minutes must be at least 1, not {value}")
    # Written so that nan (valid TOML) fails too: it compares false with everything.
    if name == "text_scale" and not TEXT_SCALE_MIN <= float(str(value)) <= TEXT_SCALE_MAX:
        raise ConfigError(f"{source}: text_scale must be {description}, not {value!r}")
    if name == "theme" and value not in THEMES:
        raise ConfigError(f"{source}: theme must be {description}, not {value!r}")
    if name == "certificate_pin" and str(value).strip():
        try:
            parse_pin(str(value))
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}, not {value!r}") from None


def _read(path: Path, required: bool) -> dict[str, object]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: configuration file not found") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        values = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for name, value in values.items():
        _check(name, value, str(path))
    return values


def _from_environment(env: Mapping[str, str]) -> dict[str, object]:
    """``IK_KIOSK_<SETTING>`` variables, converted to the setting's type."""
    values: dict[str, object] = {}
    for variable, text in env.items():
        if not variable.startswith(ENV_PREFIX) or variable == CONFIG_FILE_VARIABLE:
            continue
        name = variable.removeprefix(ENV_PREFIX).lower()
        if name not in _EXPECTED:
            raise ConfigError(
                f"{variable}: unknown setting {name!r} (known: {', '.join(_EXPECTED)})"
            )
        kind, description = _EXPECTED[name]
        value: object = text
        if kind is int or kind is _NUMBER:
            try:
                value = int(text.strip()) if kind is int else float(text.strip())
            except ValueError:
                raise ConfigError(
                    f"{variable}: {name} must be {description}, not {text!r}"
                ) from None
        elif kind is bool:
            if text.strip().lower() not in _TRUE | _FALSE:
                raise ConfigError(f"{variable}: {name} must be {description}, not {text!r}")
            value = text.strip().lower() in _TRUE
        _check(name, value, variable)
        values[name] = value
    return values


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
