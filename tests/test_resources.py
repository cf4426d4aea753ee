"""Shipped resources are valid and found from a source checkout."""

from __future__ import annotations

import tomllib

from kiosk.core.config import KioskConfig
from kiosk.resources import resource_path


def test_example_kiosk_toml_parses_and_gives_the_defaults() -> None:
    path = resource_path("kiosk.toml")
    assert path.is_file()
    values = tomllib.loads(path.read_text())
    assert values == {}  # every setting is documented but commented out
    assert KioskConfig.load(path).backend_url is None
