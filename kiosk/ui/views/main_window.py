"""The kiosk's top-level window: a stack of screens. Layout only."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from kiosk.ui.views.screens import (
    ChooseView,
    DoneView,
    ExitPinView,
    InterviewView,
    LaunchView,
    LockedView,
    MicCheckView,
    PausedView,
    SignInView,
)


class MainWindow(QMainWindow):
    """In kiosk mode the window is frameless and on top, and close requests (the close
    button, Alt+F4, the window manager), Escape and the context menu do nothing until
    ``allow_close`` is called: only the flow's exit (a proctor or the PIN) calls it."""

    def __init__(self, kiosk_id: str, test_center: str, kiosk_mode: bool = False) -> None:
        super().__init__()
        self._may_close = not kiosk_mode
        self._kiosk_mode = kiosk_mode
        if kiosk_mode:
            self.setWindowFlags(
                Qt.WindowType.Window
                | Qt.WindowType.FramelessWindowHint
                | Qt.WindowType.WindowStaysOnTopHint
            )
            self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.setWindowTitle("Interview Kiosk")
        self.setObjectName("main_window")
        self.locked = LockedView(kiosk_id, test_center)
        self.sign_in = SignInView()
        self.launch = LaunchView()
        self.choose = ChooseView()
        self.mic_check = MicCheckView()
        self.interview = InterviewView()
        self.done = DoneView()
        self.exit_pin = ExitPinView()
        self.paused = PausedView()
        self.stack = QStackedWidget()
        for screen in (self.locked, self.sign_in, self.launch, self.choose, self.mic_check,
                       self.interview, self.done, self.exit_pin, self.paused):  # fmt: skip
            self.stack.addWidget(screen)
        self.setCentralWidget(self.stack)
        # The locked screen's labels, kept at the top for the backend status controller.
        self.backend_label = self.locked.backend_label
        self.status_label = self.locked.status_label
        self.place_label = self.locked.place_label
        if kiosk_mode:
            # No copy/paste menus in line edits, no menus anywhere. A policy rather than an
            # event() override: Qt calls event() during destruction too.
            for child in self.findChildren(QWidget):
                child.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)

    def show_backend(self, address: str) -> None:
        self.backend_label.setText(f"Backend: {address}")

    def show_status(self, text: str) -> None:
        self.status_label.setText(text)

    def allow_close(self) -> None:
        self._may_close = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._may_close:
            event.accept()
        else:
            event.ignore()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._kiosk_mode and event.key() == Qt.Key.Key_Escape:
            event.accept()
            return
        super().keyPressEvent(event)
