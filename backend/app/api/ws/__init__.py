"""WebSocket routes (``/ws/...``): the audio streaming protocol and the kiosks' control channel."""

from fastapi import APIRouter

from backend.app.api.ws import interviews, kiosks

router = APIRouter()
router.include_router(interviews.router)
router.include_router(kiosks.router)

__all__ = ["router"]
