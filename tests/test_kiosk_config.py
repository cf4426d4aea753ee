"""Kiosk configuration files: defaults, lookup order and precise errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kiosk.core.config import KioskConfig
from kiosk.core.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


def test_defaults_use_the_embedded_backend_and_the_host_name() -> None:
    config = KioskConfig.from_mapping({}, "defaults")
    assert config.backend_url is None
    assert config.kiosk_id == socket.gethostname()
    assert config.idle_minutes == 10


def test_values_are_read_from_the_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'kiosk_id = "seat-07"\ntest_center = "Leeds"\nbackend_url = "http://10.0.0.5:8000/"\n'
        "idle_minutes = 3\nallow_practice = false\n",
    )
    config = KioskConfig.load(path)
    assert config.kiosk_id == "seat-07"
    assert config.test_center == "Leeds"
    assert config.backend_url == "http://10.0.0.5:8000"
    assert config.idle_minutes == 3
    assert config.allow_practice is False


def test_the_environment_variable_points_at_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, 'kiosk_id = "from-env"\n')
    assert KioskConfig.load(env={"IK_KIOSK_CONFIG": str(path)}).kiosk_id == "from-env"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kiosk_idd = 'x'\n", "unknown setting(s): kiosk_idd"),
        ("idle_minutes = true\n", "idle_minutes must be a whole number, not True"),
        ("idle_minutes = 0\n", "idle_minutes must be at least 1"),
        ("backend_url = 'ftp://x'\n", "backend_url must start with http:// or https://"),
        ("kiosk_id = \n", "not valid TOML"),
    ],
)
def test_mistakes_are_reported_with_the_file_and_setting(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        KioskConfig.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        KioskConfig.load(tmp_path / "missing.toml")
