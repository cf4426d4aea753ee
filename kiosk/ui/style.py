"""The kiosk's look: one Qt style sheet from resources/styles/."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from kiosk.resources import resource_path


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")  # the same widgets on every platform, whatever the desktop theme
    app.setStyleSheet(resource_path("styles/kiosk.qss").read_text(encoding="utf-8"))
