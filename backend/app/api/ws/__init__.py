"""WebSocket routes (``/ws/...``): the audio streaming protocol."""

from fastapi import APIRouter

router = APIRouter()
