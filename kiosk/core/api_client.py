"""The backend's REST API as the kiosk uses it. Async, no Qt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from kiosk.core.errors import ApiError, BackendUnreachable, CertificateNotTrusted
from kiosk.core.stream_messages import Rules
from kiosk.core.tls import CERTIFICATE_NOT_TRUSTED, certificate_refused


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
            raise _unreachable(exc, f"backend unreachable at {self.base_url}") from exc
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


def _unreachable(exc: httpx.HTTPError, message: str) -> BackendUnreachable:
    """No answer: a certificate the kiosk refused says so; anything else is ``message``."""
    if certificate_refused(exc):
        return CertificateNotTrusted(CERTIFICATE_NOT_TRUSTED)
    return BackendUnreachable(message)


@dataclass(frozen=True)
class CandidateSummary:
    id: str
    full_name: str
    email: str


@dataclass(frozen=True)
class CandidateSession:
    token: str
    candidate: CandidateSummary
    expires_in: int


@dataclass(frozen=True)
class ApplicationSummary:
    id: str
    job_title: str
    company: str
    status: str
    posting_active: bool


@dataclass(frozen=True)
class PlannedInterview:
    interview_id: str
    question_count: int
    ws_url: str
    # The first question's rules with the proctor's extra time (None: a server without rules).
    rules: Rules | None = None
    # The posting reads its questions aloud (a server without the setting: yes, if it can).
    read_aloud: bool = True


@dataclass(frozen=True)
class InterviewProgress:
    status: str
    question_index: int  # the question being answered, from 0
    question_total: int


# Extra time a proctor may grant (the backend's models.enums.Accommodation); None: unlimited.
TIME_FACTORS: dict[str, float | None] = {"x1.25": 1.25, "x1.5": 1.5, "x2": 2.0, "unlimited": None}


def _rules(question: dict[str, Any], accommodation: str | None) -> Rules | None:
    """The rules a planned question will be asked with, as the stream will apply them."""
    if "answer_seconds" not in question or "takes" not in question:
        return None  # a server without interview rules
    factor = TIME_FACTORS.get(accommodation, 1.0) if accommodation else 1.0

    def stretched(seconds: float | None) -> float | None:
        return None if seconds is None or factor is None else seconds * factor

    return Rules(
        stretched(question.get("think_seconds")), stretched(question["answer_seconds"]),
        int(question["takes"]), accommodation,
    )  # fmt: skip


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return f"HTTP {response.status_code}"
    return detail if isinstance(detail, str) else f"HTTP {response.status_code}"


class KioskApi(ApiClient):
    """The calls the kiosk flow makes. Every failure is an ``ApiError`` with a message fit
    for the screen; a dead backend is ``BackendUnreachable``."""

    async def _call(
        self, method: str, path: str, token: str | None = None, **kwargs: object
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self._http.request(
                method,
                f"{self.base_url}{path}",
                headers=headers,
                timeout=10.0,
                **kwargs,  # type: ignore[arg-type]
            )
        except httpx.HTTPError as exc:
            raise _unreachable(exc, "The interview server cannot be reached.") from exc
        if response.status_code >= 400:
            raise ApiError(_detail(response), response.status_code)
        return response

    async def sign_in(self, email: str, password: str) -> str:
        try:
            response = await self._call(
                "POST", "/api/v1/auth/login", json={"email": email, "password": password}
            )
        except ApiError as exc:
            if exc.status_code in (401, 422):
                raise ApiError("Wrong email or password.", exc.status_code) from None
            if exc.status_code == 429:
                raise ApiError("Too many attempts. Wait 15 minutes, then try again.", 429) from None
            raise
        return str(response.json()["access_token"])

    async def sign_out(self, token: str) -> None:
        """Revoke ``token`` on the backend; one it refuses already (401) is as good."""
        try:
            await self._call("POST", "/api/v1/auth/logout", token)
        except ApiError as exc:
            if exc.status_code != 401:
                raise

    async def find_candidates(self, token: str, query: str) -> list[CandidateSummary]:
        response = await self._call(
            "GET", "/api/v1/proctor/candidates", token, params={"query": query, "limit": 20}
        )
        return [CandidateSummary(str(c["id"]), c["full_name"], c["email"]) for c in response.json()]

    async def launch_session(
        self, token: str, email: str, kiosk_id: str, accommodation: str | None = None
    ) -> CandidateSession:
        """``accommodation``: extra time the proctor grants (a key of ``TIME_FACTORS``)."""
        body = (
            await self._call(
                "POST", "/api/v1/proctor/sessions", token,
                json={"candidate_email": email, "kiosk_id": kiosk_id,
                      "accommodation": accommodation},
            )
        ).json()  # fmt: skip
        candidate = body["candidate"]
        return CandidateSession(
            body["session_token"],
            CandidateSummary(str(candidate["id"]), candidate["full_name"], candidate["email"]),
            int(body["expires_in"]),
        )

    async def applications(self, token: str) -> list[ApplicationSummary]:
        response = await self._call("GET", "/api/v1/applications", token)
        return [
            ApplicationSummary(
                str(a["id"]), a["job_title"], a["company"], a["status"],
                a["posting_status"] == "active",
            )
            for a in response.json()
        ]  # fmt: skip

    async def plan(
        self, token: str, application_id: str | None = None, role_type: str | None = None
    ) -> PlannedInterview:
        body: dict[str, str] = {}
        if application_id:
            body["application_id"] = application_id
        if role_type:
            body["role_type"] = role_type
        # The seed's start contract: the interview's fields at the top level, beside
        # first_question and ws_url.
        started = (await self._call("POST", "/api/v1/interviews/start", token, json=body)).json()
        return PlannedInterview(
            str(started["id"]), int(started["planned_question_count"]), started["ws_url"],
            _rules(started.get("first_question") or {}, started.get("accommodation")),
            bool(started.get("read_questions_aloud", True)),
        )  # fmt: skip

    async def question_speech(self, token: str, interview_id: str, index: int) -> bytes:
        """Question ``index`` read aloud, as the WAV the server rendered. ``ApiError`` 503:
        the server has no speech engine."""
        path = f"/api/v1/interviews/{interview_id}/questions/{index}/speech"
        return (await self._call("GET", path, token)).content

    async def record_preflight(
        self, token: str, interview_id: str, check: dict[str, object]
    ) -> None:
        await self._call("POST", f"/api/v1/interviews/{interview_id}/preflight", token, json=check)

    async def interview_progress(self, token: str, interview_id: str) -> InterviewProgress:
        """How far an interview got: the first question whose answer has not ended."""
        detail = (await self._call("GET", f"/api/v1/interviews/{interview_id}", token)).json()
        questions = detail["questions"]
        answered = sum(1 for q in questions if q.get("answer_end_seconds") is not None)
        return InterviewProgress(
            str(detail["status"]), min(answered, max(len(questions) - 1, 0)), len(questions)
        )
