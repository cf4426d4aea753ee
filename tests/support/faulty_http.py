"""An httpx transport that fails the next requests the way a network or a server would.

It wraps the real transport, so everything not failed goes to the real server, and the kiosk's
own ``KioskApi`` turns each failure into its errors exactly as it would in the field.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

import httpx

HttpFault = Literal["refused", "timeout", "reply_lost", "server_error", "unavailable"]
HTTP_FAULTS: tuple[HttpFault, ...] = (
    "refused",  # nothing listens: the connection is refused
    "timeout",  # no answer in time, before the request reached the server
    "reply_lost",  # the server did the work, then the link dropped before the answer
    "server_error",  # a 500 with the body a crashing ASGI app answers
    "unavailable",  # a 503 with Retry-After, as the backend answers when its database is busy
)

SIGN_OUT_PATH = "/api/v1/auth/logout"


class FaultyTransport(httpx.AsyncBaseTransport):
    """Requests go to the real transport, except those ``fail`` has scheduled a fault for."""

    def __init__(self) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self._next: deque[HttpFault | None] = deque()  # the next requests' fates, in order
        self.injected = 0

    def fail(self, fault: HttpFault, after: int = 0) -> None:
        """The request after the next ``after`` (counted from the last one scheduled) fails."""
        self._next.extend([None] * after + [fault])

    def clear(self) -> None:
        self._next.clear()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == SIGN_OUT_PATH:
            # The kiosk signs tokens out in the background as it lets go of them: when one
            # goes out depends on timing, so it must not take a fault scheduled for the
            # request the flow makes next (the outages and restarts still reach it).
            return await self._real.handle_async_request(request)
        fault = self._next.popleft() if self._next else None
        if fault is None:
            return await self._real.handle_async_request(request)
        self.injected += 1
        if fault == "refused":
            raise httpx.ConnectError("injected: connection refused", request=request)
        if fault == "timeout":
            raise httpx.ReadTimeout("injected: no answer in time", request=request)
        if fault == "reply_lost":
            response = await self._real.handle_async_request(request)
            await response.aread()
            await response.aclose()
            raise httpx.RemoteProtocolError("injected: the reply was lost", request=request)
        if fault == "server_error":
            return httpx.Response(500, text="Internal Server Error", request=request)
        return httpx.Response(
            503,
            json={"detail": "The database is busy; try again in a moment."},
            headers={"Retry-After": "1"},
            request=request,
        )

    async def aclose(self) -> None:
        await self._real.aclose()
