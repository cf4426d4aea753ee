"""Keeps the window's backend line true: which backend, and whether it answers."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from qasync import asyncSlot

from kiosk.core.api_client import ApiClient
from kiosk.core.errors import ApiError, CertificateNotTrusted
from kiosk.ui.views.main_window import MainWindow


class BackendStatusController(QObject):
    """Polls ``/health`` and shows the result. ``checked`` fires after every poll."""

    checked = Signal(bool)

    def __init__(self, view: MainWindow, api: ApiClient, interval_ms: int = 5000) -> None:
        super().__init__(view)
        self._view = view
        self._api = api
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.refresh)
        view.show_backend(api.base_url)
        view.show_status("Connecting…")

    def start(self) -> None:
        self._timer.start()
        self.refresh()

    @asyncSlot()
    async def refresh(self) -> None:
        try:
            health = await self._api.health()
        except CertificateNotTrusted as exc:
            self._view.show_status(str(exc))  # already the whole sentence for IT
            self.checked.emit(False)
            return
        except ApiError as exc:
            self._view.show_status(f"Backend unavailable: {exc}")
            self.checked.emit(False)
            return
        if health.ok:
            self._view.show_status(f"Connected · backend {health.version}")
        else:
            self._view.show_status("Backend is up but its database is not ready")
        self.checked.emit(health.ok)
