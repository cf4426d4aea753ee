"""Request ids and one log line per request.

The id comes from the caller's ``X-Request-ID`` when it is sane, else a new one; it is bound
to every log event of the request and returned in the response header.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = structlog.get_logger("backend.request")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# A share link's path holds its token, which opens the interview to whoever has it: logs are
# read by more people than the links are sent to.
_SHARE_TOKEN = re.compile(r"^/shared/[^/]+")


def loggable_path(path: str) -> str:
    """The request path as logged: a share link's token replaced by ``<token>``."""
    return _SHARE_TOKEN.sub("/shared/<token>", path)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_code = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            # A WebSocket's messages (an audio stream's acks: ten a second per seat) go
            # straight out: only an HTTP response has a header to add.
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            logger.info(
                "request",
                method=scope.get("method", "WS"),
                path=loggable_path(scope["path"]),
                status=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            structlog.contextvars.unbind_contextvars("request_id")
