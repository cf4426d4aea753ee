"""The kiosk's icons: SVG files in resources/icons/, drawn in the colour of where they sit."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from kiosk.resources import resource_path

# Drawn at twice the size buttons show them, so they stay sharp on a high-DPI screen.
PIXELS = 48


@cache
def icon(name: str, color: str = "#1f2328") -> QIcon:
    svg = resource_path(f"icons/{name}.svg").read_text(encoding="utf-8")
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", color).encode()))
    if not renderer.isValid():
        raise ValueError(f"resources/icons/{name}.svg is not a valid SVG")
    pixmap = QPixmap(PIXELS, PIXELS)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter)
    painter.end()
    return QIcon(pixmap)
