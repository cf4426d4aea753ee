"""The kiosk window, on a real Qt loop (qasync), talking to a real backend."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import qasync
from PySide6.QtCore import QTimer

from backend.app.server import BackgroundServer
from kiosk.core.api_client import ApiClient
from kiosk.ui.controllers.backend_status import BackendStatusController
from kiosk.ui.views.main_window import MainWindow
from support.qt import ON_QT_LOOP, wait_signal

# Drives real windows on a qasync loop; tests/conftest.py deletes them on the main thread.
pytestmark = pytest.mark.qt_window


@ON_QT_LOOP
async def test_tests_run_on_the_qt_event_loop(qapp: object) -> None:
    assert isinstance(asyncio.get_running_loop(), qasync.QEventLoop)
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    await asyncio.sleep(0.2)
    timer.stop()
    assert len(ticks) >= 5  # Qt timers fired while the coroutine awaited


@ON_QT_LOOP
async def test_window_shows_the_backend_and_that_it_is_connected(
    qtbot: object, backend_server: BackgroundServer
) -> None:
    window = MainWindow("seat-3", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    async with httpx.AsyncClient() as client:
        controller = BackendStatusController(window, ApiClient(client, backend_server.url))
        controller.start()
        (ok,) = await wait_signal(controller.checked)
    assert ok is True
    assert window.backend_label.text() == f"Backend: {backend_server.url}"
    assert window.status_label.text().startswith("Connected")
    assert "seat-3" in window.place_label.text()


@ON_QT_LOOP
async def test_window_says_when_the_backend_is_unreachable(qtbot: object) -> None:
    window = MainWindow("seat-3", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as client:
        # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        controller = BackendStatusController(window, ApiClient(client, "http://127.0.0.1:9"))
        controller.start()
        (ok,) = await wait_signal(controller.checked)
    assert ok is False
    assert window.status_label.text().startswith("Backend unavailable")
