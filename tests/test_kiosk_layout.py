"""Every screen fits the two screen sizes test centers have: 1366x768 and 1920x1080, and the
smaller one also with text at 1.5 times its size (kiosk.toml's text_scale), in either theme."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyleOptionButton,
    QStyleOptionFrame,
    QWidget,
)

from kiosk.ui.style import apply_style
from kiosk.ui.views.main_window import MainWindow

pytestmark = pytest.mark.qt_window

# Widgets known to be too small at a text scale (none now: the interview screen's buttons
# stand in one row so the longest question fits at 1.5 on 1366x768). The test fails when an
# entry fits, to be taken out.
KNOWN_TOO_SMALL: dict[float, set[str]] = {}


def _text_room(widget: QPushButton | QLineEdit) -> int:
    """The height left inside a button's or a field's border and padding: Qt clips their
    text to it (not a button's icon), so a squeezed button loses the bottom of its words."""
    if isinstance(widget, QPushButton):
        button = QStyleOptionButton()
        widget.initStyleOption(button)
        contents = QStyle.SubElement.SE_PushButtonContents
        return widget.style().subElementRect(contents, button, widget).height()
    field = QStyleOptionFrame()
    widget.initStyleOption(field)
    contents = QStyle.SubElement.SE_LineEditContents
    return widget.style().subElementRect(contents, field, widget).height()


def _ink_height(widget: QPushButton | QLineEdit) -> int:
    """How tall the widget's text (or a field's placeholder) is drawn."""
    text = widget.text() or (widget.placeholderText() if isinstance(widget, QLineEdit) else "")
    return widget.fontMetrics().tightBoundingRect(text).height()


@pytest.mark.parametrize(
    ("size", "text_scale", "theme"),
    [
        ((1366, 768), 1.0, "standard"),
        ((1920, 1080), 1.0, "standard"),
        ((1366, 768), 1.5, "standard"),
        ((1366, 768), 1.5, "high-contrast"),
    ],
)
def test_every_screen_fits_without_clipping(
    app: QApplication, qtbot: object, size: tuple[int, int], text_scale: float, theme: str
) -> None:
    apply_style(app, text_scale, theme)
    window = MainWindow("leeds-seat-07", "Leeds test center")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(*size)
    window.show()
    # The longest texts each screen shows in use, and the most buttons: deciding on an
    # answer offers "Keep this answer", "Try again" and "Finish the interview".
    window.interview.question_label.setText(
        "Tell me about a production incident you led end to end: how you found the cause, "
        "how you communicated with the people affected, and what changed afterwards?"
    )
    window.interview.retry_button.setText("Try again (2 left)")
    window.interview.retry_button.setVisible(True)
    window.launch.show_resume("Resume Alexandra Fitzgerald-Montgomery at question 5")
    # The microphone check at its fullest: the rules, a verdict and the practice answer.
    window.mic_check.summary_label.setText(
        "5 questions · 30 s to think · up to 3 min per answer · 2 takes each"
    )
    window.mic_check.verdict_label.setText("Good: you can be heard clearly.")
    window.mic_check.show_practice(True, "ready", False)
    problems: dict[str, str] = {}
    for view in [window.stack.widget(i) for i in range(window.stack.count())]:
        window.stack.setCurrentWidget(view)
        app.processEvents()
        screen = QRect(QPoint(0, 0), window.size())
        for widget in view.findChildren(QWidget):
            if not widget.isVisible() or not isinstance(widget, QLabel | QPushButton | QLineEdit):
                continue
            where = f"{type(view).__name__}.{widget.objectName() or type(widget).__name__}"
            box = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
            if not screen.contains(box):
                problems[where] = f"{where} at {box} is off a {size} screen"
            if isinstance(widget, QLabel):
                # Room for a line of text; a wrapped label, for all of its lines.
                needed = widget.fontMetrics().height()
                if widget.wordWrap() and widget.text():
                    needed = max(needed, widget.heightForWidth(widget.width()))
                if widget.height() < needed:
                    problems[where] = f"{where} is {widget.height()} px, needs {needed}"
            elif (room := _text_room(widget)) < (needed := _ink_height(widget)):
                problems[where] = (
                    f"{where} is {widget.height()} px with {room} inside its border and "
                    f"padding, needs {needed} for its text"
                )
    known = KNOWN_TOO_SMALL.get(text_scale, set())
    unexpected = [problem for where, problem in problems.items() if where not in known]
    assert not unexpected, "\n".join(unexpected)
    assert known <= problems.keys(), f"{known - problems.keys()} fit now: update KNOWN_TOO_SMALL"
    if known:
        pytest.xfail("; ".join(problems[where] for where in sorted(known)))
