"""A backend SIGKILLed while it transcribes an answer (issue 17): its worker process dies with
it, and the restarted backend takes the job up again once its lease runs out and finishes the
whole queue; no answer is left untranscribed and none is transcribed twice over."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from support.api import Api
from support.backend_process import BackendProcess
from support.review import (
    ANSWERS,
    STT_MODEL,
    all_in,
    answer_aloud,
    assign_reviewer,
    posting_of,
    spoken,
    transcripts,
    wait_for_transcripts,
    word_error_rate,
)
from support.stream import ruled_interview

pytestmark = pytest.mark.slow

ENV = {
    "IK_STT_MODEL": str(STT_MODEL),
    "IK_STT_LEASE_SECONDS": "2",
    "IK_STT_POLL_SECONDS": "0.2",
    "IK_STT_CPU_THREADS": "1",
}


def workers_of(pid: int) -> list[int]:
    """The transcription worker processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and b"transcription/child.py" in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_a_backend_killed_mid_transcription_finishes_the_queue_after_restart(
    tmp_path: Path,
) -> None:
    backend = BackendProcess(tmp_path / "data", env=ENV).start()
    try:
        api = Api(backend)  # type: ignore[arg-type]
        target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1)
        # Longer answers (each of the three sentences twice): a kill lands mid-way.
        said = [f"{text} {text}" for text in ANSWERS]
        asyncio.run(answer_aloud(target, spoken(said, tmp_path)))
        reviewer = assign_reviewer(api, posting_of(api, target))

        busy = wait_for_transcripts(
            api, reviewer, target.interview_id,
            lambda answers: any(a["state"] == "transcribing" for a in answers), timeout=30,
        )  # fmt: skip
        assert backend.proc is not None
        workers = workers_of(backend.proc.pid)
        assert len(workers) == 1, workers
        backend.kill()
        caught = [a["question_index"] for a in busy["answers"] if a["state"] == "transcribing"]
        # The worker process dies with the backend (it holds no orphaned CPU or memory).
        deadline = time.monotonic() + 5
        while Path(f"/proc/{workers[0]}").exists():
            assert time.monotonic() < deadline, "the transcription worker outlived its backend"
            time.sleep(0.05)

        backend.start()
        body = wait_for_transcripts(api, reviewer, target.interview_id, all_in("done", "failed"))
        for answer, text in zip(body["answers"], said, strict=True):
            assert answer["state"] == "done", answer
            assert word_error_rate(text, answer["text"]) <= 0.25, answer["text"]
            killed = answer["question_index"] in caught
            # The interrupted job was tried once more; the others exactly once.
            assert answer["attempts"] == (2 if killed else 1), (caught, answer)
        assert transcripts(api, reviewer, target.interview_id) == body  # nothing runs again
        api.http.close()
    finally:
        backend.kill()
