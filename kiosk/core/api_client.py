"""The backend's REST API as the kiosk uses it. Async, no Qt."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from kiosk.core.errors import ApiError, BackendUnreachable


@dataclass(frozen=True)
class BackendHealth:
    ok: bool
    version: str
    schema_revision: str | None


class ApiClient:
    """Wraps one shared ``httpx.AsyncClient`` (built once in ``main``; its SSL set-up is slow)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")

    async def health(self) -> BackendHealth:
        try:
            response = await self._http.get(f"{self.base_url}/health", timeout=5.0)
        except httpx.HTTPError as exc:
            raise BackendUnreachable(f"backend unreachable at {self.base_url}") from exc
        if response.status_code not in (200, 503):
            raise ApiError(f"health check answered {response.status_code}", response.status_code)
        try:
            body = response.json()
            return BackendHealth(
                ok=body["status"] == "ok",
                version=str(body["version"]),
                schema_revision=body.get("schema_revision"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError("health check answered something that is not a health report") from exc
