"""Questions read aloud (issue 15): every question of a plan rendered by each engine (Piper,
espeak-ng), each a separate process, as speech of plausible length and level; Piper chosen
when installed, and never imported here; rendered once, then served from the interview's
files; the interview's candidate and staff only; text only without an engine."""

from __future__ import annotations

import asyncio
import io
import sys
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backend.app.core.config import Settings
from backend.app.models.enums import Role
from backend.app.server import BackgroundServer
from backend.app.services import question_speech
from backend.app.services.question_speech import NO_ENGINE, find_engine, speech_path
from support.api import Actor, Api
from support.settings import settings_for
from support.stream import new_interview


class _Log:
    """Stands in for the module's logger: structlog's configuration may be cached by earlier
    tests in this process, so capture_logs() could miss a line."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append(("info", event, fields))

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append(("warning", event, fields))

    def events(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        return [(level, fields) for level, event, fields in self.lines if event == name]


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> _Log:
    recorder = _Log()
    monkeypatch.setattr(question_speech, "logger", recorder)
    return recorder


@pytest.fixture
def backend_settings(data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    """The harness's settings, with the speech engine a test names. Unnamed: espeak-ng, which
    renders in milliseconds where Piper takes about a second (loading its model)."""
    settings = settings_for(request, data_dir)
    return settings.model_copy(update={"speech_engine": getattr(request, "param", "espeak-ng")})


@pytest.fixture
def api_with(tmp_path: Path) -> Iterator[Any]:
    """A backend started with the settings a test gives (the engine is chosen at start-up)."""
    started: list[tuple[BackgroundServer, Api]] = []

    def start(**settings: Any) -> Api:
        server = BackgroundServer(Settings(data_dir=tmp_path, **settings)).start()
        started.append((server, Api(server)))
        return started[-1][1]

    yield start
    for server, client in started:
        client.http.close()
        server.stop()


def _speech(api: Api, interview_id: str, index: int, as_: Actor) -> bytes:
    path = f"/api/v1/interviews/{interview_id}/questions/{index}/speech"
    response = api.request("GET", path, as_)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    return response.content


def _text_only(api: Api) -> None:
    target = new_interview(api)
    response = api.request(
        "GET", f"/api/v1/interviews/{target.interview_id}/questions/0/speech", target.candidate
    )
    assert response.status_code == 503
    assert response.json() == {"detail": NO_ENGINE}


@pytest.mark.parametrize("backend_settings", ["espeak-ng", "piper"], indirect=True)
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


def test_auto_picks_piper_when_it_is_installed(tmp_path: Path, log: _Log) -> None:
    engine = find_engine(Settings(data_dir=tmp_path))
    assert engine is not None and engine.name == "piper", log.lines
    assert log.events("speech_engine") == [
        ("info", {"engine": "piper", "program": engine.program, "setting": "auto",
                  "passed_over": None}),
    ]  # fmt: skip


def test_auto_falls_back_to_espeak_ng_when_piper_cannot_run(tmp_path: Path, log: _Log) -> None:
    settings = Settings(data_dir=tmp_path, piper_python=tmp_path / "no-such-python")
    engine = find_engine(settings)
    assert engine is not None and engine.name == "espeak-ng"
    [(level, fields)] = log.events("speech_engine")
    assert level == "info"
    assert "no-such-python cannot be run" in fields["passed_over"]


def test_piper_may_run_under_a_python_installed_apart(tmp_path: Path) -> None:
    # What the bundled backend needs: it holds no Piper, so IT installs one beside it.
    settings = Settings(data_dir=tmp_path, speech_engine="piper", piper_python=sys.executable)
    engine = find_engine(settings)
    assert engine is not None and engine.program.startswith(f"{sys.executable} -m piper ")


@pytest.mark.parametrize("backend_settings", ["auto"], indirect=True)
def test_piper_runs_in_a_process_of_its_own_never_in_the_backends(api: Api, log: _Log) -> None:
    target = new_interview(api)  # auto: Piper, as installed for the tests
    _speech(api, target.interview_id, 0, target.candidate)
    assert [fields["engine"] for _, fields in log.events("question_rendered")] == ["piper"]
    # The GPL engine and its runtime stay out of the (proprietary) backend's process.
    assert "piper" not in sys.modules
    assert "onnxruntime" not in sys.modules


def test_piper_reads_the_same_text_the_same_way_every_time(tmp_path: Path) -> None:
    piper = find_engine(Settings(data_dir=tmp_path, speech_engine="piper"))
    assert piper is not None and piper.name == "piper"
    text = "Tell us about a project you are proud of."
    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    asyncio.run(piper.render(text, first))
    asyncio.run(piper.render(text, second))
    assert first.read_bytes() == second.read_bytes()  # so a rendered question can be trusted


def test_a_missing_piper_voice_leaves_questions_text_only_with_one_log_line(
    api_with: Any, tmp_path: Path, log: _Log
) -> None:
    voice = tmp_path / "voices" / "en_US-missing.onnx"
    _text_only(api_with(speech_engine="piper", piper_voice=voice))
    [(level, fields)] = log.events("speech_engine_missing")
    assert level == "warning" and f"no voice at {voice}" in fields["reason"]
    assert not log.events("speech_engine")


@pytest.mark.parametrize(
    "voice", ["voices/en_US-joe-medium.onnx", "/opt/voices/en_US-joe-medium.onnx.json"]
)
def test_a_piper_voice_setting_must_name_an_absolute_onnx_file(voice: str) -> None:
    with pytest.raises(ValueError, match="piper_voice"):
        Settings(piper_voice=voice)


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


def test_without_an_engine_questions_are_text_only_with_a_plain_reason(api_with: Any) -> None:
    _text_only(api_with(speech_engine="none"))
