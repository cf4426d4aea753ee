"""``interview-kiosk --self-test``: prove an installation works, one printed line per check.

Checks the parts a workstation needs, through the same code the kiosk runs: the backend
answering ``/health`` over the kiosk's API client on the Qt event loop (the one kiosk.toml
names, through the same TLS trust the kiosk uses, or else the embedded one on a free port),
a window drawn by Qt, and the microphone: the input devices PortAudio can see, and half a
second recorded from the default one through the kiosk's own capture.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str


def _print(result: CheckResult) -> None:
    print(f"{'ok  ' if result.ok else 'FAIL'} {result.name:<8} {result.detail}", flush=True)


def run_self_test(
    report: Callable[[CheckResult], None] = _print,
    backend_url: str | None = None,
    tls: ssl.SSLContext | None = None,
) -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    results: list[CheckResult] = []

    def record(result: CheckResult) -> None:
        results.append(result)
        report(result)

    with tempfile.TemporaryDirectory(prefix="ik-selftest-") as data_dir, loop:
        if backend_url is None:
            record(loop.run_until_complete(_check_backend(Path(data_dir))))
        else:
            record(loop.run_until_complete(_check_remote_backend(backend_url, tls)))
        record(_check_window(app))
        record(loop.run_until_complete(_check_audio()))
    failed = [r.name for r in results if not r.ok]
    print(f"self-test {'FAILED: ' + ', '.join(failed) if failed else 'passed'}", flush=True)
    return 1 if failed else 0


async def _check_backend(data_dir: Path) -> CheckResult:
    import httpx

    from kiosk.core.api_client import ApiClient
    from kiosk.core.errors import KioskError
    from kiosk.embedded import start_embedded_backend

    loop = asyncio.get_running_loop()
    try:
        server, _credential = await loop.run_in_executor(
            None, start_embedded_backend, data_dir, "self-test", "Self test"
        )
    except Exception as exc:  # any start-up failure is this check's finding
        return CheckResult("backend", False, f"embedded backend did not start: {exc!r}")
    try:
        async with httpx.AsyncClient() as http:
            health = await ApiClient(http, server.url).health()
    except KioskError as exc:
        return CheckResult("backend", False, str(exc))
    finally:
        await loop.run_in_executor(None, server.stop)
    if not health.ok:
        return CheckResult("backend", False, f"{server.url}/health reports the database not ready")
    return CheckResult(
        "backend",
        True,
        f"{server.url}/health ok (version {health.version}, schema {health.schema_revision})",
    )


async def _check_remote_backend(url: str, tls: ssl.SSLContext | None) -> CheckResult:
    import httpx

    from kiosk.core.api_client import ApiClient
    from kiosk.core.errors import KioskError

    try:
        async with httpx.AsyncClient(verify=tls if tls is not None else True) as http:
            health = await ApiClient(http, url).health()
    except KioskError as exc:
        return CheckResult("backend", False, str(exc))
    if not health.ok:
        return CheckResult("backend", False, f"{url}/health reports the database not ready")
    return CheckResult(
        "backend", True,
        f"{url}/health ok (version {health.version}, schema {health.schema_revision})",
    )  # fmt: skip


def _check_window(app: object) -> CheckResult:
    from PySide6.QtWidgets import QApplication

    from kiosk.ui.views.main_window import MainWindow

    assert isinstance(app, QApplication)
    window = MainWindow("self-test", "self-test")
    window.resize(800, 600)
    window.show()
    app.processEvents()
    image = window.grab().toImage()
    window.close()
    if image.isNull() or image.width() == 0:
        return CheckResult("window", False, f"Qt drew nothing on {app.platformName()}")
    return CheckResult(
        "window", True, f"drawn {image.width()}x{image.height()} on {app.platformName()}"
    )


async def _check_audio(seconds: float = 0.5) -> CheckResult:
    from kiosk.audio.capture import MicrophoneCapture
    from kiosk.audio.devices import list_input_devices
    from kiosk.core.errors import AudioDeviceError
    from kiosk.core.mic_check import block_dbfs

    try:
        devices = list_input_devices()
    except AudioDeviceError as exc:
        return CheckResult("audio", False, str(exc))
    if not devices:
        # A kiosk without a microphone cannot interview anyone: IT should hear of it now,
        # not from a candidate.
        return CheckResult("audio", False, "no input device: connect the seat's microphone")
    default = next((d for d in devices if d.is_default), devices[0])
    blocks: list[bytes] = []
    capture = MicrophoneCapture(blocks.append, default.index)
    try:
        capture.start(asyncio.get_running_loop())
        await asyncio.sleep(seconds)
    except AudioDeviceError as exc:
        return CheckResult("audio", False, f"{default.name}: {exc}")
    finally:
        capture.stop()
    captured = sum(len(b) for b in blocks) / (2 * capture.sample_rate)
    if captured < seconds / 2:
        return CheckResult(
            "audio", False, f"{default.name} delivered {captured:.2f} s of {seconds:.1f} s"
        )
    level = max((block_dbfs(b) for b in blocks), default=-120.0)
    return CheckResult(
        "audio", True,
        f"recorded {captured:.2f} s from {default.name!r} (peak block {level:.0f} dBFS); "
        f"{len(devices)} input device(s)",
    )  # fmt: skip
