"""The kiosk's look: Qt style sheets from resources/styles/, a theme and a text scale.

``kiosk.qss`` holds every size and shape. Any other theme is a sheet of colours and edges
laid over it (``resources/styles/<theme>.qss``), applied as one sheet after it: sizes are then
written once, so a theme cannot drift from the layout tests/test_kiosk_layout.py checks, and
tests/test_kiosk_theme.py measures the contrast of the two sheets together, as Qt sees them.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.core.config import TEXT_SCALE_MAX, TEXT_SCALE_MIN, THEMES
from kiosk.resources import resource_path

BASE_SHEET = "styles/kiosk.qss"
# kiosk.qss gives a min-height only as room for a line of text: it grows with the text.
_TEXT_SIZE = re.compile(r"((?:font-size|min-height)\s*:\s*)(\d+(?:\.\d+)?)(px|pt)\b")


def theme_sheets(theme: str) -> list[str]:
    """The sheets a theme applies, in order (names under ``resources/``)."""
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r} (known: {', '.join(THEMES)})")
    return [BASE_SHEET] if theme == "standard" else [BASE_SHEET, f"styles/{theme}.qss"]


def scale_text_sizes(sheet: str, text_scale: float) -> str:
    """``sheet`` with every ``font-size`` and ``min-height`` multiplied by ``text_scale``."""

    def scaled(match: re.Match[str]) -> str:
        size = float(match[2]) * text_scale
        # Qt takes a pixel size as a whole number; points may be fractional.
        number = str(round(size)) if match[3] == "px" else f"{size:g}"
        return f"{match[1]}{number}{match[3]}"

    return _TEXT_SIZE.sub(scaled, sheet)


def style_sheet(text_scale: float = 1.0, theme: str = "standard") -> str:
    """The application style sheet for a theme at a text scale."""
    sheets = [resource_path(name).read_text(encoding="utf-8") for name in theme_sheets(theme)]
    return scale_text_sizes("\n".join(sheets), text_scale)


def apply_style(app: QApplication, text_scale: float = 1.0, theme: str = "standard") -> None:
    """Style the application; call again to change the theme or the scale (tests do)."""
    if not TEXT_SCALE_MIN <= text_scale <= TEXT_SCALE_MAX:
        raise ValueError(f"text_scale must be from {TEXT_SCALE_MIN} to {TEXT_SCALE_MAX}")
    app.setStyle("Fusion")  # the same widgets on every platform, whatever the desktop theme
    app.setStyleSheet(style_sheet(text_scale, theme))
    # After the sheet: applying a sheet puts back the font Qt remembered for each widget when
    # it first styled it, which may be from an earlier scale.
    _TextScale.of(app).scale_to(text_scale)


# Where a widget's own font size is kept once it has been scaled (a dynamic property).
_UNSCALED_POINTS = "kiosk_unscaled_point_size"


class _TextScale(QObject):
    """Scales the application's font and the fonts the views give their own widgets.

    The views set point sizes on their labels and buttons (``_font`` in
    kiosk/ui/views/screens.py), which neither the style sheet nor the application's font
    reaches. So, while the scale is not 1, each widget with a font of its own has its point
    size multiplied when Qt first polishes it, before it is laid out or drawn; the size it was
    given is kept on the widget, so a second scale starts from that and never compounds.
    A size a view sets after the widget is first shown is not scaled (none does today).

    Pixel sizes and windows are left alone: in this app pixel sizes come from the style
    sheet (scaled as text), and Qt copies an owner's font into its popups (a combo box's
    list), which would otherwise grow twice.
    """

    NAME = "kiosk_text_scale"

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.setObjectName(self.NAME)
        self._app = app
        self._unscaled_app_font = QFont(app.font())
        self._factor = 1.0

    @classmethod
    def of(cls, app: QApplication) -> _TextScale:
        existing = app.findChild(_TextScale, cls.NAME)
        return existing if isinstance(existing, _TextScale) else cls(app)

    def scale_to(self, factor: float) -> None:
        # Filtering every event of the application costs a Python call each, so only a
        # scaled kiosk pays it.
        if factor != 1.0 and self._factor == 1.0:
            self._app.installEventFilter(self)
        elif factor == 1.0 and self._factor != 1.0:
            self._app.removeEventFilter(self)
        self._factor = factor
        font = QFont(self._unscaled_app_font)
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * factor)
        else:
            font.setPixelSize(round(font.pixelSize() * factor))
        self._app.setFont(font)
        for widget in self._app.allWidgets():
            self._scale(widget)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Polish and isinstance(watched, QWidget):
            self._scale(watched)
        return False

    def _scale(self, widget: QWidget) -> None:
        if widget.isWindow() or not widget.testAttribute(Qt.WidgetAttribute.WA_SetFont):
            return
        font = widget.font()
        unscaled = widget.property(_UNSCALED_POINTS)
        if unscaled is None:
            if font.pointSizeF() <= 0 or self._factor == 1.0:
                return
            unscaled = font.pointSizeF()
            widget.setProperty(_UNSCALED_POINTS, unscaled)
        font.setPointSizeF(float(unscaled) * self._factor)
        if font != widget.font():
            widget.setFont(font)
