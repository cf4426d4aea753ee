"""WebSocket routes (``/ws/...``): the audio streaming protocol."""

from backend.app.api.ws.interviews import router

__all__ = ["router"]
