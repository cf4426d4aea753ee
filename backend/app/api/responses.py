"""The refusals a route documents in OpenAPI, beside the 200/201 and FastAPI's own 422; and
the CSV downloads routes and pages share.

Routes list the statuses their service can raise (``responses=refusals(401, 403, 404)``), so
/openapi.json names every status a client can get; tests/api/test_fuzz_openapi.py holds the
live server to it. The bodies come from the one DomainError handler in ``main.py``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response

from backend.app.schemas.errors import ErrorResponse

_DESCRIPTIONS = {
    # FastAPI itself answers 400 to a body that is not UTF-8 text (malformed JSON is 422).
    400: "The body is not UTF-8 text, or breaks a rule (a closed posting, no role given)",
    401: "No bearer token, or one that is malformed, forged or expired",
    403: "The token is valid but this caller may not do this",
    404: "Nothing with this id (or e-mail) exists",
    409: "The request conflicts with what exists (a taken e-mail, a finished interview)",
    429: "Too many failed sign-ins for this e-mail or from this address; wait Retry-After seconds",
}

# Headers the handler in main.py always sets on these answers.
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"required": True, "schema": {"type": "string", "enum": ["Bearer"]}}},
    429: {
        "Retry-After": {
            "required": True,
            "description": "Seconds until a sign-in for this e-mail is tried again",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


def refusals(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry documenting ``status_codes``, each with an ErrorResponse body."""
    documented: dict[int | str, dict[str, Any]] = {}
    for code in status_codes:
        response: dict[str, Any] = {"model": ErrorResponse, "description": _DESCRIPTIONS[code]}
        if code in _HEADERS:
            response["headers"] = _HEADERS[code]
        documented[code] = response
    return documented


def csv_response(name: str, body: str) -> Response:
    """A CSV file to download (never cached: it holds candidates' names and ratings)."""
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
    })  # fmt: skip
