"""Every screen fits the two screen sizes test centers have: 1366x768 and 1920x1080."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPushButton, QWidget

from kiosk.ui.style import apply_style
from kiosk.ui.views.main_window import MainWindow

pytestmark = pytest.mark.qt_window


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_every_screen_fits_without_clipping(qtbot: object, size: tuple[int, int]) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_style(app)
    window = MainWindow("leeds-seat-07", "Leeds test center")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(*size)
    window.show()
    # The longest texts each screen shows in use.
    window.interview.question_label.setText(
        "Tell me about a production incident you led end to end: how you found the cause, "
        "how you communicated with the people affected, and what changed afterwards?"
    )
    window.launch.show_resume("Resume Alexandra Fitzgerald-Montgomery at question 5")
    for view in [window.stack.widget(i) for i in range(window.stack.count())]:
        window.stack.setCurrentWidget(view)
        app.processEvents()
        screen = QRect(QPoint(0, 0), window.size())
        for widget in view.findChildren(QWidget):
            if not widget.isVisible() or not isinstance(widget, QLabel | QPushButton | QLineEdit):
                continue
            where = f"{type(view).__name__}.{widget.objectName() or type(widget).__name__}"
            box = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
            assert screen.contains(box), f"{where} at {box} is off a {size} screen"
            # Room for a line of text; a wrapped label, for all of its lines.
            needed = widget.fontMetrics().height()
            if isinstance(widget, QLabel) and widget.wordWrap() and widget.text():
                needed = max(needed, widget.heightForWidth(widget.width()))
            assert widget.height() >= needed, f"{where} is {widget.height()} px, needs {needed}"
    app.setStyleSheet("")
