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
    assert config.text_scale == 1.0
    assert config.theme == "standard"
    assert config.read_questions_aloud is True


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


def test_accessibility_settings_are_read_from_the_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path, 'text_scale = 1.5\ntheme = "high-contrast"\nread_questions_aloud = false\n'
    )
    config = KioskConfig.load(path, env={})
    assert config.text_scale == 1.5
    assert config.theme == "high-contrast"
    assert config.read_questions_aloud is False
    # TOML reads 2 as a whole number; both ends of the range are allowed.
    for text, scale in (("text_scale = 2\n", 2.0), ("text_scale = 1.0\n", 1.0)):
        config = KioskConfig.load(_write(tmp_path, text), env={})
        assert config.text_scale == scale
        assert isinstance(config.text_scale, float)


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
        ("text_scale = 2.5\n", "text_scale must be a number from 1.0 to 2.0, not 2.5"),
        ("text_scale = 0.9\n", "text_scale must be a number from 1.0 to 2.0, not 0.9"),
        ("text_scale = '1.5'\n", "text_scale must be a number from 1.0 to 2.0, not '1.5'"),
        ("text_scale = true\n", "text_scale must be a number from 1.0 to 2.0, not True"),
        ("text_scale = nan\n", "text_scale must be a number from 1.0 to 2.0, not nan"),
        ("theme = 'dark'\n", "theme must be 'standard' or 'high-contrast', not 'dark'"),
        ("theme = 2\n", "theme must be 'standard' or 'high-contrast', not 2"),
        ("read_questions_aloud = 'no'\n", "read_questions_aloud must be true or false, not 'no'"),
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
        "IK_KIOSK_TEXT_SCALE": "1.25",
        "IK_KIOSK_THEME": "high-contrast",
        "IK_KIOSK_READ_QUESTIONS_ALOUD": "off",
    }
    config = KioskConfig.load(env=env, files=[system])
    assert config.kiosk_id == "seat-02"
    assert config.backend_url is None
    assert config.idle_minutes == 3
    assert config.allow_practice is False
    assert config.audio_device == "USB headset"
    assert config.data_dir == tmp_path / "data"
    assert config.text_scale == 1.25
    assert config.theme == "high-contrast"
    assert config.read_questions_aloud is False
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
        ("IK_KIOSK_TEXT_SCALE", "big", "IK_KIOSK_TEXT_SCALE: text_scale must be a number from 1"),
        ("IK_KIOSK_TEXT_SCALE", "3", "IK_KIOSK_TEXT_SCALE: text_scale must be a number from 1"),
        ("IK_KIOSK_THEME", "dark", "IK_KIOSK_THEME: theme must be 'standard' or 'high-contrast'"),
        ("IK_KIOSK_READ_QUESTIONS_ALOUD", "sometimes", "read_questions_aloud must be true or"),
    ],
)
def test_environment_mistakes_name_the_variable(variable: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        KioskConfig.load(env={variable: text}, files=[])
    assert message in str(caught.value)
