"""The kiosk's top-level window: a stack of screens. Layout only."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QStackedWidget

from kiosk.ui.views.screens import (
    ChooseView,
    DoneView,
    InterviewView,
    LaunchView,
    LockedView,
    MicCheckView,
    SignInView,
)


class MainWindow(QMainWindow):
    def __init__(self, kiosk_id: str, test_center: str) -> None:
        super().__init__()
        self.setWindowTitle("Interview Kiosk")
        self.setObjectName("main_window")
        self.locked = LockedView(kiosk_id, test_center)
        self.sign_in = SignInView()
        self.launch = LaunchView()
        self.choose = ChooseView()
        self.mic_check = MicCheckView()
        self.interview = InterviewView()
        self.done = DoneView()
        self.stack = QStackedWidget()
        for screen in (self.locked, self.sign_in, self.launch, self.choose, self.mic_check,
                       self.interview, self.done):  # fmt: skip
            self.stack.addWidget(screen)
        self.setCentralWidget(self.stack)
        # The locked screen's labels, kept at the top for the backend status controller.
        self.backend_label = self.locked.backend_label
        self.status_label = self.locked.status_label
        self.place_label = self.locked.place_label

    def show_backend(self, address: str) -> None:
        self.backend_label.setText(f"Backend: {address}")

    def show_status(self, text: str) -> None:
        self.status_label.setText(text)
