"""The backend bundled inside the kiosk process, for a workstation without a central server.

Imported only in embedded mode: FastAPI and SQLAlchemy cost ~0.8 s to import, which a kiosk
talking to a central backend should never pay.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.app.server import BackgroundServer


def start_embedded_backend(data_dir: Path | None) -> BackgroundServer:
    """Migrate the local database and serve it on a free loopback port (blocking)."""
    from backend.app.core.config import Settings
    from backend.app.server import BackgroundServer

    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    return BackgroundServer(settings).start()
