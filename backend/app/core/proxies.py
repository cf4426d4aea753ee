"""Which forwarded headers the backend believes: only those a trusted proxy sent.

uvicorn's proxy-headers middleware applies X-Forwarded-For and X-Forwarded-Proto from
``IK_TRUSTED_PROXIES`` and ignores them from anyone else, but it knows nothing of
X-Forwarded-Host, which the stream URL handed to kiosks is built from
(``get_ws_base_url``). Forwarded headers are the proxy's word, so X-Forwarded-Host from
any other peer is dropped here, before uvicorn's middleware replaces the peer's address
with the forwarded one. (A client still chooses its own Host: see docs/security.md.)
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

FORWARDED_HOST = b"x-forwarded-host"


class TrustedProxies:
    """The app behind both: X-Forwarded-Host dropped unless the peer is a trusted proxy,
    then uvicorn's middleware (so uvicorn itself is run with ``proxy_headers=False``)."""

    def __init__(self, app: ASGIApp, trusted: str) -> None:
        self._forwarded = ProxyHeadersMiddleware(app, trusted)  # type: ignore[arg-type]
        # The same rule uvicorn applies (addresses, networks, "*"), not a second one: its
        # matcher, an attribute since uvicorn 0.31.1 (pyproject's minimum).
        self._trusted = self._forwarded.trusted_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if (client[0] if client else None) not in self._trusted:
                # A copy, as the ASGI spec asks of middleware that changes the scope.
                headers = [(k, v) for k, v in scope["headers"] if k != FORWARDED_HOST]
                scope = {**scope, "headers": headers}
        await self._forwarded(scope, receive, send)  # type: ignore[arg-type]
