"""The kiosk's top-level window. Layout only: controllers decide what it shows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget


class MainWindow(QMainWindow):
    def __init__(self, kiosk_id: str, test_center: str) -> None:
        super().__init__()
        self.setWindowTitle("Interview Kiosk")
        self.setObjectName("main_window")

        self.title_label = QLabel("Interview Kiosk")
        title_font = QFont()
        title_font.setPointSize(28)
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.place_label = QLabel(f"{test_center} · kiosk {kiosk_id}")
        self.place_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.backend_label = QLabel()
        self.backend_label.setObjectName("backend_label")
        self.backend_label.setAccessibleName("Backend address")
        self.backend_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.status_label = QLabel()
        self.status_label.setObjectName("status_label")
        self.status_label.setAccessibleName("Backend status")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout()
        layout.addStretch(1)
        for widget in (self.title_label, self.place_label, self.backend_label, self.status_label):
            layout.addWidget(widget)
        layout.addStretch(1)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)

    def show_backend(self, address: str) -> None:
        self.backend_label.setText(f"Backend: {address}")

    def show_status(self, text: str) -> None:
        self.status_label.setText(text)
