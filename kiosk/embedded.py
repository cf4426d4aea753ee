"""The backend bundled inside the kiosk process, for a workstation without a central server.

Imported only in embedded mode: FastAPI and SQLAlchemy cost ~0.8 s to import, which a kiosk
talking to a central backend should never pay.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.app.core.config import Settings
    from backend.app.server import BackgroundServer


def start_embedded_backend(
    data_dir: Path | None, kiosk_id: str, test_center: str
) -> tuple[BackgroundServer, str]:
    """Migrate the local database, enroll this kiosk in it, and serve it on a free loopback
    port (blocking). The server, and this kiosk's new credential for its control channel."""
    import asyncio

    from backend.app.core.config import Settings
    from backend.app.server import BackgroundServer

    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    server = BackgroundServer(settings).start()
    credential = asyncio.run(_enroll(settings, kiosk_id, test_center))
    return server, credential


async def _enroll(settings: Settings, kiosk_id: str, test_center: str) -> str:
    from backend.app.core.db import create_engine, create_sessionmaker
    from backend.app.services.kiosks import center_id_for, enroll

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await enroll(session, kiosk_id, center_id_for(test_center), test_center)
    finally:
        await engine.dispose()
