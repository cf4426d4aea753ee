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


def test_every_icon_renders_and_the_screens_use_them(qapp: object) -> None:
    from PySide6.QtWidgets import QPushButton

    from kiosk.ui.icons import icon
    from kiosk.ui.views.main_window import MainWindow

    names = sorted(p.stem for p in resource_path("icons").glob("*.svg"))
    assert names, "resources/icons/ is empty"
    for name in names:
        image = icon(name).pixmap(48, 48).toImage()
        opaque = sum(
            image.pixelColor(x, y).alpha() > 0 for x in range(0, 48, 2) for y in range(0, 48, 2)
        )
        assert opaque > 10, f"{name}.svg drew (almost) nothing"
    window = MainWindow("seat-1", "Leeds")
    with_icons = {b.objectName() for b in window.findChildren(QPushButton) if not b.icon().isNull()}
    assert {"sign_in_button", "check_button", "start_button", "next_button"} <= with_icons
    window.deleteLater()
