from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from backend.app.schemas.base import RequestModel, ResponseModel


class SessionLaunchRequest(RequestModel):
    candidate_email: str = Field(min_length=1, max_length=254)
    kiosk_id: str = Field(min_length=1, max_length=100)


class CandidateRead(ResponseModel):
    id: uuid.UUID
    full_name: str
    email: str


class SessionLaunchResponse(ResponseModel):
    session_token: str
    token_type: Literal["bearer"] = "bearer"
    candidate: CandidateRead
    expires_in: int
