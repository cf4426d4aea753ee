"""Transcripts of the kept answers (issue 17): queued when the interview completes, made by a
worker process with a real Whisper model (tiny.en, int8 on CPU), kept with word timings,
retried and then failed when an answer cannot be read, and readable only by admins and the
posting's reviewers. On SQLite and again on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.app.core.config import Settings
from backend.app.models.enums import Role
from backend.app.server import BackgroundServer
from support.api import Api
from support.review import (
    ANSWERS,
    all_in,
    answer_aloud,
    assign_reviewer,
    posting_of,
    spoken,
    stt_settings,
    transcripts,
    wait_for_transcripts,
    word_error_rate,
)
from support.stream import ruled_interview

pytestmark = pytest.mark.slow

LEAD_SECONDS = 1.5  # silence before each answer


@pytest.fixture
def backend_settings(data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    return stt_settings(request, data_dir)


def test_three_spoken_answers_are_transcribed_with_their_word_times(
    api: Api, tmp_path: Path
) -> None:
    target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1)
    answers = spoken(ANSWERS, tmp_path, LEAD_SECONDS)
    asyncio.run(answer_aloud(target, answers))
    reviewer = assign_reviewer(api, posting_of(api, target))

    body = wait_for_transcripts(api, reviewer, target.interview_id, all_in("done", "failed"))
    assert (body["transcription"], body["model"]) == ("on", "model")
    assert [a["question_index"] for a in body["answers"]] == [0, 1, 2]
    for answer, said, pcm in zip(body["answers"], ANSWERS, answers, strict=True):
        assert (answer["state"], answer["attempts"], answer["error"]) == ("done", 1, None)
        wer = word_error_rate(said, answer["text"])
        print(f"WER {wer:.3f}: {said!r} heard as {answer['text']!r}")
        assert wer <= 0.25
        seconds = len(pcm) / 32000
        assert answer["audio_seconds"] == pytest.approx(seconds, abs=0.01)
        words = answer["words"]
        assert " ".join(w["word"] for w in words) == answer["text"]
        starts = [w["start"] for w in words]
        assert starts == sorted(starts)
        assert all(w["start"] <= w["end"] <= seconds + 0.1 for w in words)
        # Times are from the start of the answer (not of the recording): the first word
        # follows the silence. (Whisper stretches a first word's start back by up to 0.4 s.)
        assert LEAD_SECONDS - 0.6 <= words[0]["start"] < LEAD_SECONDS < words[0]["end"]
        assert answer["work_seconds"] > 0


def test_transcripts_are_for_admins_and_the_postings_reviewers_only(
    api: Api, tmp_path: Path
) -> None:
    target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1)
    path = f"/api/v1/interviews/{target.interview_id}/transcripts"
    posting = posting_of(api, target)
    reviewer = assign_reviewer(api, posting)
    # Not before the interview is completed, even for its reviewer.
    assert api.request("GET", path, reviewer).status_code == 403
    asyncio.run(answer_aloud(target, spoken(ANSWERS[:1], tmp_path)))

    outsider = api.make_user(Role.REVIEWER)
    for who, status in [
        (None, 401),
        (target.candidate, 403),  # candidates never see evaluations
        (api.make_user(Role.PROCTOR), 403),
        (outsider, 403),  # a reviewer of other postings
        (reviewer, 200),
        (api.make_user(Role.ADMIN), 200),
    ]:
        assert api.request("GET", path, who).status_code == status, who
        # The kept answer's audio follows the same rule for reviewers.
        answer = f"/api/v1/interviews/{target.interview_id}/questions/0/answer"
        if who in (outsider, reviewer):
            assert api.request("GET", answer, who).status_code == status
    # Reviewers hear the kept answers, never the whole recording (discarded takes, thinking).
    recording = f"/api/v1/interviews/{target.interview_id}/recording"
    assert api.request("GET", recording, reviewer).status_code == 403
    unknown = "/api/v1/interviews/00000000-0000-0000-0000-000000000000/transcripts"
    assert api.request("GET", unknown, reviewer).status_code == 404

    # Assigning a non-reviewer is refused, and the assignment is replaced, not added to.
    admin = api.make_user(Role.ADMIN)
    reviewers = f"/api/v1/job-postings/{posting}/reviewers"
    refused = api.request("PUT", reviewers, admin,
                          json={"reviewer_ids": [str(target.candidate.id)]})  # fmt: skip
    assert refused.status_code == 400
    assert "not an active reviewer" in refused.json()["detail"]
    assert api.request("PUT", reviewers, reviewer, json={"reviewer_ids": []}).status_code == 403
    replaced = api.request("PUT", reviewers, admin, json={"reviewer_ids": [str(outsider.id)]})
    assert [r["email"] for r in replaced.json()] == [outsider.email]
    assert api.request("GET", path, reviewer).status_code == 403
    assert api.request("GET", path, outsider).status_code == 200


def test_answers_wait_while_transcripts_are_off_and_a_missing_recording_fails_after_retries(
    backend_settings: Settings, tmp_path: Path
) -> None:
    off = backend_settings.model_copy(update={"stt_model": None})
    with BackgroundServer(off) as server:
        api = Api(server)
        target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1)
        asyncio.run(answer_aloud(target, spoken(ANSWERS[:2], tmp_path)))
        admin = api.make_user(Role.ADMIN)
        body = transcripts(api, admin, target.interview_id)
        assert (body["transcription"], body["model"]) == ("off", None)
        assert [(a["state"], a["attempts"]) for a in body["answers"]] == [("queued", 0)] * 2
        api.http.close()

    # The shared storage lost the recording: each answer is tried three times, then failed.
    recording = backend_settings.data_dir / "recordings" / f"{target.interview_id}.pcm"
    kept = recording.read_bytes()
    recording.unlink()
    with BackgroundServer(backend_settings) as server:
        api = Api(server)
        seen: set[tuple[str, int]] = set()

        def failed(answers: list[dict[str, object]]) -> bool:
            seen.update((str(a["state"]), int(a["attempts"])) for a in answers)  # type: ignore[call-overload]
            return all_in("failed")(answers)

        body = wait_for_transcripts(api, admin, target.interview_id, failed, timeout=30)
        for answer in body["answers"]:
            assert answer["attempts"] == 3
            assert answer["error"] == "The recording of this answer is missing from the server"
            assert answer["text"] is None
        assert ("queued", 1) in seen or ("queued", 2) in seen  # waiting for its retry

        # The recording is restored: IT queues the failed answers again, and they are done.
        recording.write_bytes(kept)
        env = {**os.environ, "IK_DATA_DIR": str(backend_settings.data_dir)}
        if backend_settings.database_url:
            env["IK_DATABASE_URL"] = backend_settings.database_url
        requeued = subprocess.run(
            [sys.executable, "-m", "backend", "requeue-transcripts",
             "--interview", target.interview_id],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert requeued.returncode == 0, requeued.stderr
        assert requeued.stdout.strip() == "2 failed transcriptions queued again"
        body = wait_for_transcripts(api, admin, target.interview_id, all_in("done", "failed"))
        assert [(a["state"], a["attempts"], a["error"]) for a in body["answers"]] == [
            ("done", 1, None), ("done", 1, None),
        ]  # fmt: skip
        api.http.close()


def test_a_worker_that_cannot_start_costs_no_answer_an_attempt(
    backend_settings: Settings, tmp_path: Path
) -> None:
    """A wrong IK_STT_PYTHON is the server's fault, not the answer's: jobs wait, none fails."""
    broken = backend_settings.model_copy(update={"stt_python": tmp_path / "no-such-python"})
    with BackgroundServer(broken) as server:
        api = Api(server)
        target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1)
        asyncio.run(answer_aloud(target, [bytes(32000)]))
        admin = api.make_user(Role.ADMIN)
        body = wait_for_transcripts(api, admin, target.interview_id,
                                    lambda answers: bool(answers) and bool(answers[0]["error"]),
                                    timeout=30)  # fmt: skip
        time.sleep(1.0)  # several retry periods (0.2 s): still waiting, never failed
        [answer] = transcripts(api, admin, target.interview_id)["answers"]
        assert (answer["state"], answer["attempts"]) == ("queued", 0)
        assert answer["error"].startswith("The transcription worker could not start")
        assert body["transcription"] == "on"
        api.http.close()
    # With the right Python the same job is done, as its first attempt.
    with BackgroundServer(backend_settings) as server:
        api = Api(server)
        body = wait_for_transcripts(api, admin, target.interview_id, all_in("done", "failed"))
        assert [(a["state"], a["attempts"]) for a in body["answers"]] == [("done", 1)]
        api.http.close()
