"""A real backend behind a cuttable proxy, at one address that outlives restarts of the server.

The kiosk is given the proxy's URL; the backend plans interviews with ``ws_url``s at the
address it was asked on, so HTTP and the audio WebSocket both pass through the proxy. Cutting,
taking down and restarting all happen behind that address, as they would on a network.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from backend.app.server import BackgroundServer
from support.proxy import CuttableProxy


class ProxiedBackend:
    def __init__(self, server: BackgroundServer) -> None:
        self.server = server
        target = urlsplit(server.url)
        self.proxy = CuttableProxy(str(target.hostname), int(target.port or 80))
        self.restarts = 0
        self._come_back: asyncio.TimerHandle | None = None

    async def start(self) -> ProxiedBackend:
        await self.proxy.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"

    def cut(self) -> None:
        """Every open connection drops at once (a network blip); new ones get through."""
        self.proxy.cut()

    def down_for(self, seconds: float) -> None:
        """Unreachable from now for ``seconds`` of loop time (extends an outage under way)."""
        self.proxy.go_down()
        if self._come_back is not None:
            self._come_back.cancel()
        self._come_back = asyncio.get_running_loop().call_later(seconds, self.up)

    def up(self) -> None:
        if self._come_back is not None:
            self._come_back.cancel()
            self._come_back = None
        self.proxy.come_back()

    async def restart(self) -> None:
        """Stop the server and start a new one on the same data: links drop meanwhile and
        attempts are refused, then the same address answers again."""
        self.proxy.go_down()
        old = self.server
        await asyncio.to_thread(old.stop)
        # The data is migrated already; a new port, as a restarted process would bind.
        self.server = await asyncio.to_thread(BackgroundServer(old.settings, migrate=False).start)
        target = urlsplit(self.server.url)
        self.proxy.target = (str(target.hostname), int(target.port or 80))
        self.restarts += 1
        if self._come_back is None:  # an outage under way ends on its own schedule
            self.proxy.come_back()

    async def stop(self) -> None:
        self.up()
        await self.proxy.stop()
        await asyncio.to_thread(self.server.stop)
