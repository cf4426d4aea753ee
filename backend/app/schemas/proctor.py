from __future__ import annotations

import uuid
from typing import Literal

from pydantic import ConfigDict, Field

from backend.app.models.enums import Accommodation
from backend.app.schemas.base import RequestModel, ResponseModel

ACCOMMODATION_DESCRIPTION = (
    "Extra time the proctor grants for this session, applied to every think and answer limit: "
    "x1.25, x1.5 or x2 the time, or unlimited. Omitted or null: the posting's limits as set."
)


class SessionLaunchRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"candidate_email": "ada@example.com", "kiosk_id": "leeds-07"},
                {"candidate_email": "ada@example.com", "kiosk_id": "leeds-07",
                 "accommodation": "x1.5"},
            ]
        }
    )  # fmt: skip

    candidate_email: str = Field(min_length=1, max_length=254)
    kiosk_id: str = Field(min_length=1, max_length=100)
    accommodation: Accommodation | None = Field(
        default=None, description=ACCOMMODATION_DESCRIPTION, examples=["x1.5"]
    )


class CandidateRead(ResponseModel):
    id: uuid.UUID
    full_name: str
    email: str


class SessionLaunchResponse(ResponseModel):
    session_token: str
    token_type: Literal["bearer"] = "bearer"
    candidate: CandidateRead
    expires_in: int
    accommodation: Accommodation | None = Field(
        default=None, description="The extra time granted with this session, if any"
    )
