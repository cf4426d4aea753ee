"""What both WebSocket routes do before the socket opens: read the bearer credential, and
refuse with an ordinary HTTP answer (no socket) when the domain says no."""

from __future__ import annotations

from fastapi import WebSocket
from fastapi.responses import JSONResponse

from backend.app.core.errors import DomainError


def bearer(websocket: WebSocket) -> str | None:
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def refuse(websocket: WebSocket, exc: DomainError) -> None:
    """Refused in the handshake: an HTTP answer with the domain's status and detail."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    await websocket.send_denial_response(
        JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
    )
