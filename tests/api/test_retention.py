"""Retention and deletion (issue 17): the backend's own retention job deletes an expired
interview's audio and transcripts from disk and keeps an unexpired one; an admin deletes every
file and row of one candidate at once. On SQLite and again on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.config import Settings
from backend.app.models import (
    AuditEntry,
    Interview,
    PlannedQuestion,
    Review,
    ShareLink,
    Transcript,
)
from backend.app.models.enums import Role
from support.api import Api
from support.review import answer_aloud, assign_reviewer, in_database, posting_of
from support.settings import settings_for
from support.stream import StreamTarget, ruled_interview

SECOND = bytes(32000)


@pytest.fixture
def backend_settings(data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    # The retention job looks every 0.2 s here (every hour by default).
    return settings_for(request, data_dir).model_copy(update={"retention_check_seconds": 0.2})


def interview_with_files(api: Api, retention_days: int) -> StreamTarget:
    """A completed interview with a recording and a question read aloud on disk."""
    target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1,
                             retention_days=retention_days)  # fmt: skip
    speech = api.request(
        "GET", f"/api/v1/interviews/{target.interview_id}/questions/0/speech", target.candidate
    )
    assert speech.status_code == 200, speech.text
    asyncio.run(answer_aloud(target, [SECOND, SECOND]))
    return target


def files_of(settings: Settings, target: StreamTarget) -> list[Path]:
    recording = settings.data_dir / "recordings" / f"{target.interview_id}.pcm"
    speech = settings.data_dir / "speech" / target.interview_id
    return [recording, *sorted(speech.glob("*"))] if speech.is_dir() else [recording]


def completed_days_ago(settings: Settings, target: StreamTarget, days: float) -> None:
    when = datetime.now(UTC) - timedelta(days=days)
    in_database(settings, lambda s: s.execute(
        update(Interview).where(Interview.id == uuid.UUID(target.interview_id))
        .values(completed_at=when)
    ))  # fmt: skip


def actions(settings: Settings, subject: str) -> list[str]:
    async def read(session: AsyncSession) -> list[str]:
        rows = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_id == subject)
            .order_by(AuditEntry.at)
        )  # fmt: skip
        return list(rows)

    return list(in_database(settings, read))


def wait_until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "it never happened"
        time.sleep(0.05)


def test_the_retention_job_deletes_expired_audio_and_keeps_the_rest(api: Api) -> None:
    settings = api.server.settings
    expired = interview_with_files(api, retention_days=30)
    kept = interview_with_files(api, retention_days=30)
    decided_late = interview_with_files(api, retention_days=30)
    for target in (expired, kept, decided_late):
        assert all(path.is_file() for path in files_of(settings, target))
        assert len(files_of(settings, target)) == 2  # the recording and question 1 read aloud
    admin = api.make_user(Role.ADMIN)

    # Completed 31 days ago, never reviewed: past its 30 days. Completed 29 days ago: not yet.
    # Completed 40 days ago but decided (a review submitted) today: 30 days from today.
    reviewer = assign_reviewer(api, posting_of(api, decided_late))
    submitted = api.request(
        "PUT", f"/api/v1/interviews/{decided_late.interview_id}/review", reviewer,
        json={"ratings": [{"question_index": 0, "rating": 3}, {"question_index": 1, "rating": 4}],
              "recommendation": "hold", "submit": True},
    )  # fmt: skip
    assert submitted.status_code == 200, submitted.text
    doomed = files_of(settings, expired)
    completed_days_ago(settings, expired, 31)
    completed_days_ago(settings, kept, 29)
    completed_days_ago(settings, decided_late, 40)

    wait_until(lambda: not any(path.exists() for path in doomed))
    assert not (settings.data_dir / "speech" / expired.interview_id).exists()
    time.sleep(0.5)  # a few more runs of the job: nothing else goes
    for target in (kept, decided_late):
        assert all(path.is_file() for path in files_of(settings, target)), target.interview_id
    assert actions(settings, expired.interview_id)[-1] == "retention_deleted"
    assert "retention_deleted" not in actions(settings, kept.interview_id)

    # The record and its decision stay; the audio is gone.
    detail = api.request("GET", f"/api/v1/interviews/{expired.interview_id}", admin)
    assert detail.status_code == 200 and detail.json()["status"] == "completed"
    answer = api.request("GET", f"/api/v1/interviews/{expired.interview_id}/questions/0/answer",
                         admin)  # fmt: skip
    assert answer.status_code == 404
    transcripts = api.request("GET", f"/api/v1/interviews/{expired.interview_id}/transcripts",
                              admin)  # fmt: skip
    assert transcripts.json()["answers"] == []
    kept_transcripts = api.request(
        "GET", f"/api/v1/interviews/{kept.interview_id}/transcripts", admin
    ).json()["answers"]
    assert len(kept_transcripts) == 2


def test_an_admin_deletes_every_file_and_row_of_one_candidate(api: Api) -> None:
    settings = api.server.settings
    first = interview_with_files(api, retention_days=180)
    # The same candidate's second interview, and another candidate's who must keep theirs.
    second_posting = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1)
    other = interview_with_files(api, retention_days=180)
    candidate = first.candidate
    admin = api.make_user(Role.ADMIN)
    applied = api.request("POST", "/api/v1/applications", candidate,
                          json={"job_posting_id": posting_of(api, second_posting)})  # fmt: skip
    assert applied.status_code == 201, applied.text
    planned = api.request("POST", "/api/v1/interviews/plan", candidate,
                          json={"application_id": applied.json()["id"]})  # fmt: skip
    assert planned.status_code == 201, planned.text
    mine = [first.interview_id, planned.json()["interview_id"]]
    reviewer = assign_reviewer(api, posting_of(api, first))
    api.request("PUT", f"/api/v1/interviews/{first.interview_id}/review", reviewer,
                json={"ratings": [{"question_index": 0, "rating": 2}]})  # fmt: skip
    doomed = files_of(settings, first)
    path = f"/api/v1/candidates/{candidate.id}/interviews"

    assert api.request("DELETE", path, reviewer).status_code == 403
    assert api.request("DELETE", path, candidate).status_code == 403
    unknown = api.request("DELETE", f"/api/v1/candidates/{uuid.uuid4()}/interviews", admin)
    assert unknown.status_code == 404
    not_a_candidate = api.request("DELETE", f"/api/v1/candidates/{admin.id}/interviews", admin)
    assert not_a_candidate.status_code == 404

    link = api.request("POST", f"/api/v1/interviews/{first.interview_id}/share-links", admin,
                       json={})  # fmt: skip
    assert link.status_code == 201, link.text
    deleted = api.request("DELETE", path, admin)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"interviews_deleted": 2, "files_deleted": 2}
    assert httpx.get(link.json()["url"]).status_code == 404
    assert not any(p.exists() for p in doomed)
    assert not (settings.data_dir / "speech" / first.interview_id).exists()
    for interview_id in mine:
        gone = api.request("GET", f"/api/v1/interviews/{interview_id}", admin)
        assert gone.status_code == 404
    assert api.request("GET", "/api/v1/interviews", candidate).json() == []

    async def left(session: AsyncSession) -> dict[str, int]:
        ids = [uuid.UUID(i) for i in mine]
        counts = {}
        for model in (Transcript, Review, ShareLink, PlannedQuestion):
            column = model.interview_id
            counts[model.__tablename__] = len(list(await session.scalars(
                select(column).where(column.in_(ids))
            )))  # fmt: skip
        return counts

    assert in_database(settings, left) == {
        "transcripts": 0, "reviews": 0, "share_links": 0, "planned_questions": 0,
    }  # fmt: skip
    assert all(p.is_file() for p in files_of(settings, other))  # another candidate's: kept
    assert actions(settings, str(candidate.id))[-1] == "candidate_interviews_deleted"
    # Asked again: nothing left, nothing fails.
    again = api.request("DELETE", path, admin)
    assert again.json() == {"interviews_deleted": 0, "files_deleted": 0}


def test_a_candidate_mid_interview_is_not_deleted_under_their_feet(api: Api) -> None:
    target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1)
    admin = api.make_user(Role.ADMIN)
    path = f"/api/v1/candidates/{target.candidate.id}/interviews"

    async def delete_while_streaming() -> httpx.Response:
        from websockets.asyncio.client import connect

        from support.stream import hello

        async with connect(target.ws_url, additional_headers=target.headers) as ws:
            await ws.send(hello())
            await ws.recv()
            return await asyncio.to_thread(api.request, "DELETE", path, admin)

    refused = asyncio.run(delete_while_streaming())
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("One of this candidate's interviews is under way")
    detail = api.request("GET", f"/api/v1/interviews/{target.interview_id}", admin)
    assert detail.json()["status"] == "in_progress"
    # The seat never came back: the interview stays "in progress", and is deleted like any.
    deleted = api.request("DELETE", path, admin)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["interviews_deleted"] == 1
