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
        ("kiosk_idd = 'x'\n", "unknown setting 'kiosk_idd' (known: kiosk_id, "),
        ("idle_minutes = true\n", "idle_minutes must be a whole number, not True"),
        ("idle_minutes = 0\n", "idle_minutes must be at least 1"),
        ("backend_url = 'ftp://x'\n", "backend_url must be 'embedded' or start with http://"),
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


def test_embedded_is_the_spelled_out_default_backend(tmp_path: Path) -> None:
    path = _write(tmp_path, 'backend_url = "embedded"\n')
    assert KioskConfig.load(path, env={}).backend_url is None


def test_the_user_file_overrides_the_system_file_setting_by_setting(tmp_path: Path) -> None:
    system = tmp_path / "etc.toml"
    system.write_text('kiosk_id = "seat-01"\ntest_center = "Leeds"\nidle_minutes = 5\n')
    user = tmp_path / "user.toml"
    user.write_text("idle_minutes = 7\n")
    config = KioskConfig.load(env={}, files=[system, user])
    assert (config.kiosk_id, config.test_center, config.idle_minutes) == ("seat-01", "Leeds", 7)
    # Either file may be absent.
    assert KioskConfig.load(env={}, files=[tmp_path / "none.toml", user]).idle_minutes == 7


def test_environment_variables_override_the_files(tmp_path: Path) -> None:
    system = tmp_path / "etc.toml"
    system.write_text('kiosk_id = "seat-01"\nbackend_url = "http://10.0.0.5:8000"\n')
    env = {
        "IK_KIOSK_KIOSK_ID": "seat-02",
        "IK_KIOSK_BACKEND_URL": "embedded",
        "IK_KIOSK_IDLE_MINUTES": "3",
        "IK_KIOSK_ALLOW_PRACTICE": "no",
        "IK_KIOSK_AUDIO_DEVICE": "USB headset",
        "IK_KIOSK_DATA_DIR": str(tmp_path / "data"),
    }
    config = KioskConfig.load(env=env, files=[system])
    assert config.kiosk_id == "seat-02"
    assert config.backend_url is None
    assert config.idle_minutes == 3
    assert config.allow_practice is False
    assert config.audio_device == "USB headset"
    assert config.data_dir == tmp_path / "data"
    # ... and a file named by --config too.
    named = _write(tmp_path, 'kiosk_id = "named"\ntest_center = "York"\n')
    config = KioskConfig.load(named, env={"IK_KIOSK_KIOSK_ID": "seat-03"})
    assert (config.kiosk_id, config.test_center) == ("seat-03", "York")


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("IK_KIOSK_IDLE_MINUTES", "ten", "IK_KIOSK_IDLE_MINUTES: idle_minutes must be a whole"),
        ("IK_KIOSK_IDLE_MINUTES", "0", "IK_KIOSK_IDLE_MINUTES: idle_minutes must be at least 1"),
        ("IK_KIOSK_ALLOW_PRACTICE", "maybe", "allow_practice must be true or false, not 'maybe'"),
        ("IK_KIOSK_BACKEND_URL", "10.0.0.5", "IK_KIOSK_BACKEND_URL: backend_url must be"),
        ("IK_KIOSK_BACKEND_ULR", "http://x", "IK_KIOSK_BACKEND_ULR: unknown setting 'backend_ulr'"),
    ],
)
def test_environment_mistakes_name_the_variable(variable: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        KioskConfig.load(env={variable: text}, files=[])
    assert message in str(caught.value)
