from __future__ import annotations

from backend.app.schemas.base import ResponseModel


class ErrorResponse(ResponseModel):
    """Every refusal the app makes itself (400, 401, 403, 404, 409, 429): one sentence."""

    detail: str
