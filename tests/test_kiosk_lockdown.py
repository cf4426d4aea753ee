"""Kiosk mode: nothing but a proctor or the exit PIN leaves it, and one kiosk per seat."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from backend.app.models.enums import Role
from kiosk.audio.capture import MicrophoneCapture
from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.errors import KioskError
from kiosk.core.flow import KioskFlow, Screen
from kiosk.core.lockdown import AlreadyRunning, InstanceLock, hash_pin
from kiosk.ui.controllers.flow_controller import FlowController
from kiosk.ui.views.main_window import MainWindow
from support.api import Api
from support.qt import ON_QT_LOOP, until

# Drives real windows on a qasync loop; tests/conftest.py deletes them on the main thread.
pytestmark = pytest.mark.qt_window


def test_close_escape_and_context_menu_do_nothing_in_kiosk_mode(qtbot: object) -> None:
    window = MainWindow("seat-1", "Leeds", kiosk_mode=True)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    assert window.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert window.close() is False  # the close button, Alt+F4 and the WM all end up here
    assert window.isVisible()
    escape = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, escape)
    assert window.isVisible()
    for widget in [window, window.sign_in.email_edit, window.exit_pin.pin_edit]:
        assert widget.contextMenuPolicy() is Qt.ContextMenuPolicy.NoContextMenu
    window.allow_close()
    assert window.close() is True


def test_windowed_mode_closes_normally(qtbot: object) -> None:
    window = MainWindow("seat-1", "Leeds", kiosk_mode=False)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    assert window.close() is True


@ON_QT_LOOP
async def test_exit_needs_the_right_pin(qtbot: object, tmp_path: Path) -> None:
    exits: list[bool] = []
    window = MainWindow("seat-1", "Leeds", kiosk_mode=True)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    config = KioskConfig.from_mapping({"exit_pin_hash": hash_pin("2468")}, "test")
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(KioskApi(http, "http://127.0.0.1:9"), config, tmp_path, MicrophoneCapture)
        FlowController(window, flow, [], on_exit=lambda: exits.append(True))
        window.locked.exit_button.click()
        assert window.stack.currentWidget() is window.exit_pin
        window.exit_pin.pin_edit.setText("1111")
        window.exit_pin.exit_button.click()
        await until(lambda: window.exit_pin.message_label.text() != "")
        assert window.exit_pin.message_label.text() == "Wrong PIN."
        assert window.exit_pin.pin_edit.text() == ""
        assert exits == [] and window.close() is False
        window.exit_pin.pin_edit.setText("2468")
        window.exit_pin.exit_button.click()
        await until(lambda: exits == [True])
    assert window.close() is True


@ON_QT_LOOP
async def test_without_a_pin_only_a_proctor_can_exit(
    qtbot: object, api: Api, tmp_path: Path
) -> None:
    proctor = api.make_user(Role.PROCTOR)
    exits: list[bool] = []
    window = MainWindow("seat-1", "Leeds", kiosk_mode=True)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url), KioskConfig.from_mapping({}, "test"), tmp_path,
            MicrophoneCapture,
        )  # fmt: skip
        FlowController(window, flow, [], on_exit=lambda: exits.append(True))
        flow.open_exit_pin()
        with pytest.raises(KioskError, match="A proctor must sign in"):
            await flow.exit_with_pin("0000")
        flow.lock()
        flow.open_sign_in()
        await flow.sign_in(proctor.email, proctor.password)
        assert flow.state.screen is Screen.LAUNCH
        window.launch.exit_kiosk_button.click()
        await until(lambda: exits == [True])
    assert window.close() is True


def test_pin_hash_is_argon2_and_never_the_pin() -> None:
    pin_hash = hash_pin("97531")
    assert pin_hash.startswith("$argon2id$")
    assert "97531" not in pin_hash
    with pytest.raises(KioskError, match="at least 4 digits"):
        hash_pin("12a")


def test_hash_pin_command_reads_the_pin_from_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "hash-pin"], input="8642\n",
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(result.stdout.strip(), "8642")


def test_one_kiosk_per_workstation(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path / "kiosk.lock").acquire()
    with pytest.raises(AlreadyRunning, match="already running on this workstation"):
        InstanceLock(tmp_path / "kiosk.lock").acquire()
    # And across processes, as a second `interview-kiosk` would see it:
    env = {
        **os.environ,
        "IK_KIOSK_CONFIG": str(tmp_path / "kiosk.toml"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    (tmp_path / "kiosk.toml").write_text(f'data_dir = "{tmp_path}"\n')
    second = subprocess.run(
        [sys.executable, "-m", "kiosk", "--exit-after", "1"], env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert second.returncode == 3
    assert second.stderr.strip() == (
        "interview-kiosk: Interview Kiosk is already running on this workstation."
    )
    first.release()
    InstanceLock(tmp_path / "kiosk.lock").acquire().release()  # free again
