"""Async Qt test helpers: run on the qasync loop, await signals without nesting Qt loops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QPushButton

# Async tests marked with this run on a qasync loop (see pytest_asyncio_loop_factories in
# tests/conftest.py). In them never use qtbot.waitSignal/waitUntil: those spin a nested Qt loop
# in which another asyncio task cannot step. Await wait_signal() instead.
ON_QT_LOOP = pytest.mark.asyncio(loop_factories=["qasync"])


async def wait_signal(signal: SignalInstance, timeout: float = 10.0) -> tuple[object, ...]:
    """Await a Qt signal without nesting a Qt event loop (see conftest)."""
    future: asyncio.Future[tuple[object, ...]] = asyncio.get_running_loop().create_future()

    def on_signal(*args: object) -> None:
        if not future.done():
            future.set_result(args)

    signal.connect(on_signal)
    try:
        return await asyncio.wait_for(future, timeout)
    finally:
        signal.disconnect(on_signal)


async def until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    """Poll ``condition()`` on the loop (no nested Qt loop: see above)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def click(button: QPushButton) -> None:
    """Press a button as a person would: only if it is enabled."""
    assert button.isEnabled(), button.text()
    button.click()
