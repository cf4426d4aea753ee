"""Incident reports: what a proctor files from the room console, and what reviewers read."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from backend.app.models.enums import IncidentCategory
from backend.app.schemas.base import NO_NUL_PATTERN, RequestModel, ResponseModel


class IncidentCreate(RequestModel):
    kiosk_id: str = Field(min_length=1, max_length=64, pattern=NO_NUL_PATTERN)
    category: IncidentCategory
    note: str = Field(default="", max_length=2000)


class IncidentRead(ResponseModel):
    reference: str = Field(description="Short reference the proctor reads out: INC-4F7Q2")
    category: IncidentCategory
    note: str
    test_center_id: str
    kiosk_id: str
    interview_id: uuid.UUID | None
    reported_by: uuid.UUID
    reported_at: datetime
