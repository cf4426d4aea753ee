"""Request bodies of the room console's actions."""

from __future__ import annotations

from pydantic import Field

from backend.app.models.enums import Accommodation
from backend.app.schemas.base import RequestModel


class PauseRequest(RequestModel):
    reason: str = Field(min_length=1, max_length=500)


class MessageRequest(RequestModel):
    text: str = Field(min_length=1, max_length=500)


class ExtraTimeRequest(RequestModel):
    accommodation: Accommodation


class EmptyRequest(RequestModel):
    pass
