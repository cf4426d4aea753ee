"""Questions read aloud (issue 15): every question of a plan rendered by espeak-ng, a separate
process, as speech of plausible length and level; rendered once, then served from the
interview's files; the interview's candidate and staff only; text only without an engine."""

from __future__ import annotations

import io
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from backend.app.core.config import Settings
from backend.app.models.enums import Role
from backend.app.server import BackgroundServer
from backend.app.services.question_speech import NO_ENGINE, speech_path
from support.api import Actor, Api
from support.stream import new_interview


def _speech(api: Api, interview_id: str, index: int, as_: Actor) -> bytes:
    path = f"/api/v1/interviews/{interview_id}/questions/{index}/speech"
    response = api.request("GET", path, as_)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    return response.content


def test_every_question_of_a_plan_is_read_aloud_as_plausible_speech(api: Api) -> None:
    target = new_interview(api)
    for index in range(5):
        wav_bytes = _speech(api, target.interview_id, index, target.candidate)
        with wave.open(io.BytesIO(wav_bytes)) as wav:
            assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
            seconds = wav.getnframes() / wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        assert 1.0 <= seconds <= 30.0, (index, seconds)
        peak = int(np.abs(samples.astype(np.int32)).max())
        rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
        clipped = float(np.mean(np.abs(samples.astype(np.int32)) >= 32767))
        assert rms > 300 and peak > 3000, (index, rms, peak)  # speech, not silence
        assert clipped < 0.001, (index, clipped)  # not clipped


def test_a_question_is_rendered_once_then_served_as_kept(api: Api) -> None:
    target = new_interview(api)
    first = _speech(api, target.interview_id, 2, target.candidate)
    path = speech_path(api.server.settings.data_dir, uuid.UUID(target.interview_id), 2)
    rendered_at = path.stat().st_mtime_ns
    assert _speech(api, target.interview_id, 2, target.candidate) == first
    assert path.stat().st_mtime_ns == rendered_at  # served from the file, not rendered again
    assert not list(path.parent.glob("*.partial.wav"))


def test_only_the_candidate_and_staff_hear_it_and_a_question_must_exist(api: Api) -> None:
    target = new_interview(api)
    path = f"/api/v1/interviews/{target.interview_id}/questions"
    other = api.make_user(Role.CANDIDATE)
    assert api.request("GET", f"{path}/0/speech", other).status_code == 403
    assert api.request("GET", f"{path}/0/speech").status_code == 401
    for role in (Role.PROCTOR, Role.ADMIN):
        assert api.request("GET", f"{path}/0/speech", api.make_user(role)).status_code == 200
    missing = api.request("GET", f"{path}/5/speech", target.candidate)
    assert missing.status_code == 404 and "question 5" in missing.json()["detail"].lower()


@pytest.fixture
def text_only_api(tmp_path: Path) -> Iterator[Api]:
    server = BackgroundServer(Settings(data_dir=tmp_path, speech_engine="none")).start()
    client = Api(server)
    try:
        yield client
    finally:
        client.http.close()
        server.stop()


def test_without_an_engine_questions_are_text_only_with_a_plain_reason(
    text_only_api: Api,
) -> None:
    target = new_interview(text_only_api)
    response = text_only_api.request(
        "GET", f"/api/v1/interviews/{target.interview_id}/questions/0/speech", target.candidate
    )
    assert response.status_code == 503
    assert response.json() == {"detail": NO_ENGINE}
