"""The test harness: real servers, a real virtual microphone, Qt offscreen on a qasync loop."""

from __future__ import annotations

import os

# Before any QApplication exists, and before PortAudio reads the ALSA/pulse configuration.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from backend.app.core.config import Settings
from backend.app.server import BackgroundServer
from support.api import Actor, Api
from support.packaging import package  # noqa: F401  (the session's one build of the installer)
from support.settings import settings_for
from support.vmic import VirtualMic

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

_QT_APP: list[object] = []  # a QApplication made here must outlive every loop bound to it


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable]:
    """Tests marked ``ON_QT_LOOP`` (support/qt.py) run on a qasync loop bound to the
    QApplication; every other async test runs on a plain asyncio loop.

    pytest-asyncio runs an unmarked test once per factory returned here, so the answer
    depends on what the test asked for.

    In qasync tests never use ``qtbot.waitSignal``/``waitUntil``: they spin a nested Qt loop
    in which another asyncio task cannot step. Await ``support.qt.wait_signal`` instead.
    """
    marker = item.get_closest_marker("asyncio")
    wants_qt = marker is not None and "qasync" in (marker.kwargs.get("loop_factories") or ())
    if not wants_qt:
        return {"asyncio": asyncio.new_event_loop}

    def qasync_loop() -> object:
        import qasync
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        _QT_APP[:] = [app]
        return qasync.QEventLoop(app)

    return {"qasync": qasync_loop}


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """After a test with Qt objects, delete them here, on the main thread, while no backend
    thread runs.

    Otherwise a window pytest-qt closed (deleteLater) and the reference cycles around its
    controllers are freed later by whichever thread next triggers Python's cyclic garbage
    collector, often a backend thread of the next test. A QObject destroyed off its own
    thread cannot unregister its timers, and the main thread's timer list then dispatches
    to freed memory (a crash in QTimerInfoList::activateTimers).
    """
    yield
    if "qtbot" in getattr(item, "fixturenames", ()) or item.get_closest_marker("qt_window"):
        import gc

        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend-db",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="database behind the backend_server fixture (make test runs tests/backend on both)",
    )


@pytest.fixture(scope="session")
def postgres_cluster(pytestconfig: pytest.Config) -> Iterator[object]:
    from support.postgres import PostgresCluster, available

    if not available():
        message = "PostgreSQL server binaries are missing (make test installs postgresql)"
        if os.environ.get("IK_REQUIRE_VMIC") == "1":
            pytest.fail(message)
        pytest.skip(f"!!! SKIPPED: {message}")
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def backend_settings(data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    return settings_for(request, data_dir)


@pytest.fixture
def backend_server(backend_settings: Settings) -> Iterator[BackgroundServer]:
    """A real uvicorn serving the app on 127.0.0.1 at a free port, over a fresh SQLite file."""
    server = BackgroundServer(backend_settings).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(backend_server: BackgroundServer) -> Iterator[Api]:
    client = Api(backend_server)
    try:
        yield client
    finally:
        client.http.close()


@pytest.fixture
def people(api: Api) -> dict[str, Actor]:
    """The three people of a kiosk session, with fresh passwords and sign-in tokens."""
    from backend.app.models.enums import Role

    return {
        "proctor": api.make_user(Role.PROCTOR, "Pat Proctor"),
        "candidate": api.make_user(Role.CANDIDATE, "Casey Candidate"),
        "admin": api.make_user(Role.ADMIN),
    }


@pytest.fixture
def virtual_mic() -> Iterator[VirtualMic]:
    """A private PulseAudio daemon whose virtual source is PortAudio's default input.

    `make test` sets IK_REQUIRE_VMIC=1: there a missing pulseaudio is a failure, not a skip.
    """
    if shutil.which("pulseaudio") is None:
        message = (
            "pulseaudio is not installed: the virtual microphone cannot run (make test installs it)"
        )
        if os.environ.get("IK_REQUIRE_VMIC") == "1":
            pytest.fail(message)
        pytest.skip(f"!!! SKIPPED: {message}")
    mic = VirtualMic().start()
    saved = {name: os.environ.get(name) for name in mic.env}
    os.environ.update(mic.env)
    import sounddevice as sd

    sd._terminate()  # PortAudio reads the ALSA/pulse set-up only when it initialises
    sd._initialize()
    try:
        yield mic
    finally:
        # A capture's stop() closes its stream on the audio thread, later: terminating
        # PortAudio while that thread is still stopping a stream can hang both. Wait for it.
        from kiosk.audio.capture import _AUDIO_THREAD

        _AUDIO_THREAD.submit(lambda: None).result(timeout=30)
        sd._terminate()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        sd._initialize()
        mic.stop()


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """A private X server (Xvfb) for tests of the real X11 window; yields its DISPLAY."""
    if shutil.which("Xvfb") is None:
        if os.environ.get("IK_REQUIRE_VMIC") == "1":
            pytest.fail("Xvfb is not installed (make test installs it)")
        pytest.skip("!!! SKIPPED: Xvfb is not installed (make test installs it)")
    from support.xvfb import running_xvfb

    with running_xvfb() as display:
        yield display


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    """The test's QApplication, whose style (text scale, theme) the test may set: Qt's own
    look comes back afterwards, as later tests in this process expect."""
    from kiosk.ui.style import apply_style

    try:
        yield qapp
    finally:
        apply_style(qapp)
        qapp.setStyleSheet("")
