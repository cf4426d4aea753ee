"""Fixtures shared by the stream tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.backend_process import BackendProcess


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[BackendProcess]:
    """The backend as its own process over a fresh data directory, for tests that SIGKILL it."""
    process = BackendProcess(tmp_path / "data").start()
    try:
        yield process
    finally:
        process.kill()
