"""Questions read aloud at the seat (issue 15), end to end: the real window on the Qt loop, a
real backend rendering speech with espeak-ng, the kiosk playing it through sounddevice on the
virtual speaker, and the virtual microphone.

The seat in the first test has open speakers and no headset: a loopback carries what the
speaker plays into the microphone. So the kiosk's recording would hold the question's voice
if it recorded while reading; the test shows it does not, and that reading never counts
against thinking time.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from test_kiosk_rules import launch_at_the_window

from backend.app.core.config import Settings
from kiosk.audio.capture import MicrophoneCapture
from kiosk.audio.devices import list_input_devices
from kiosk.audio.playback import SpeakerPlayback
from kiosk.core.answer_clock import Phase
from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.flow import KioskFlow, Screen
from kiosk.ui.controllers.flow_controller import FlowController
from kiosk.ui.views.main_window import MainWindow
from support.api import Actor, Api, serving
from support.audio import best_alignment, synthesize_speech
from support.qt import ON_QT_LOOP, click, until
from support.vmic import VirtualMic

pytestmark = pytest.mark.qt_window

RATE = 16000


def _phase(flow: KioskFlow) -> Phase | None:
    return flow.state.answer.phase if flow.state.answer else None


def _samples(wav_bytes: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        rate = wav.getframerate()
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16), rate


def _at_16k(wav_bytes: bytes, tmp_path: Path, name: str) -> np.ndarray:
    """The served speech as the microphone would carry it: 16 kHz (sox)."""
    source, target = tmp_path / f"{name}.wav", tmp_path / f"{name}.16k.wav"
    source.write_bytes(wav_bytes)
    subprocess.run(["sox", str(source), "-r", str(RATE), str(target)], check=True)
    return _samples(target.read_bytes())[0]


def _occurrences(heard: np.ndarray, speech: np.ndarray, threshold: float = 0.99) -> list[float]:
    """Each place ``speech`` is played whole in ``heard`` (NCC at or over ``threshold``)."""
    heard = heard.copy()
    found: list[float] = []
    while True:
        lag, ncc = best_alignment(heard, speech)
        if ncc < threshold or len(heard) - lag < len(speech):
            return found
        found.append(ncc)
        heard[lag : lag + len(speech)] = 0  # look for the next one


async def _reading_done(flow: KioskFlow) -> None:
    await until(lambda: flow.reader is not None and flow.reader.reading, timeout=5)
    await until(lambda: flow.reader is not None and not flow.reader.reading, timeout=20)


async def _launch_check_and_start(
    window: MainWindow, flow: KioskFlow, people: dict[str, Actor], mic: VirtualMic, check: Path
) -> None:
    """The proctor launches the candidate, who checks the microphone (reading ``check``
    into it) and starts the interview, all at the window."""
    await launch_at_the_window(window, flow, people)
    click(window.mic_check.check_button)
    await asyncio.sleep(0.5)
    await asyncio.to_thread(mic.feed(check).wait, 30)
    await until(window.mic_check.start_button.isEnabled, timeout=10)
    click(window.mic_check.start_button)
    await until(lambda: flow.state.screen is Screen.INTERVIEW)


@pytest.fixture
def speaker_recording(virtual_mic: VirtualMic, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "speaker.raw"
    recorder = virtual_mic.record_speaker(path)
    try:
        yield path
    finally:
        recorder.terminate()
        recorder.wait(5)


def _heard(path: Path) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), dtype=np.int16)


@ON_QT_LOOP
async def test_questions_are_read_aloud_on_the_speaker_and_never_recorded(
    qtbot: object,
    api: Api,
    people: dict[str, Actor],
    virtual_mic: VirtualMic,
    speaker_recording: Path,
    tmp_path: Path,
) -> None:
    virtual_mic.open_speaker()
    posting = api.request("POST", "/api/v1/job-postings", people["admin"], json={
        "title": "Support Engineer", "company": "Contoso", "tech_stack": "go",
        "think_seconds": 5, "answer_seconds": 8, "takes": 1,
    }).json()  # fmt: skip
    api.request(
        "POST", "/api/v1/applications", people["candidate"], json={"job_posting_id": posting["id"]}
    )
    check = synthesize_speech("I am ready for my interview today.", tmp_path / "check.wav")
    answer = synthesize_speech("I would read the logs first.", tmp_path / "answer.wav")

    window = MainWindow("seat-2", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(1280, 800)
    window.show()
    view = window.interview
    speaker = SpeakerPlayback()
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url), KioskConfig.from_mapping({"kiosk_id": "seat-2"}, "test"),
            tmp_path / "spool", MicrophoneCapture, list_input_devices, speaker=speaker,
        )  # fmt: skip
        FlowController(window, flow, [], done_seconds=1.0)
        await _launch_check_and_start(window, flow, people, virtual_mic, check)
        planned = flow.state.planned
        assert planned is not None and planned.read_aloud

        # Question 1 is read as it appears; the think clock waits for the reading to end.
        shown = time.monotonic()
        await until(lambda: flow.reader is not None and flow.reader.reading, timeout=5)
        assert view.recording_label.text() == "Reading the question aloud"
        assert view.repeat_button.isVisible()
        await until(lambda: flow.reader is not None and not flow.reader.reading, timeout=20)
        read_for = time.monotonic() - shown
        assert read_for > 1.0, read_for  # a whole sentence was played, not nothing
        assert view.timer_label.text() == "Think · 0:05"  # not a second of it spent
        assert view.recording_label.text() == "● Recording"
        # "Repeat the question" plays it again, from the start; still no thinking time used.
        view.repeat_button.setFocus()
        click(view.repeat_button)
        await _reading_done(flow)
        assert view.timer_label.text() == "Think · 0:05"
        assert window.focusWidget() is view.repeat_button
        click(view.next_button)  # "Start answering"
        await until(lambda: _phase(flow) is Phase.ANSWERING)
        assert not view.repeat_button.isVisible()
        assert window.focusWidget() is view.next_button  # never "Finish the interview"
        await asyncio.to_thread(virtual_mic.feed(answer).wait, 30)
        await asyncio.sleep(0.2)
        click(view.next_button)  # one take: kept as it ends
        await until(lambda: flow.state.question is not None and flow.state.question.index == 1)

        # Question 2: "Start answering" while it is being read stops the reading at once.
        await until(lambda: flow.reader is not None and flow.reader.reading, timeout=5)
        await asyncio.sleep(0.8)
        click(view.next_button)
        await until(lambda: _phase(flow) is Phase.ANSWERING)
        assert flow.reader is not None and not flow.reader.reading
        await asyncio.to_thread(virtual_mic.feed(answer).wait, 30)
        await asyncio.sleep(0.2)
        click(view.next_button)
        await until(lambda: flow.state.question is not None and flow.state.question.index == 2)

        # Question 3: left alone, thinking runs out 5 s after the reading ended, not before.
        asked = time.monotonic()
        await _reading_done(flow)
        reading_ended = time.monotonic()
        await until(lambda: _phase(flow) is Phase.ANSWERING, timeout=10)
        assert time.monotonic() - reading_ended > 4.5
        assert time.monotonic() - asked > 5 + 1.0
        click(view.finish_button)
        await until(lambda: flow.state.screen is Screen.DONE, timeout=15)

    interview_path = f"/api/v1/interviews/{planned.interview_id}"
    detail = api.request("GET", interview_path, people["admin"]).json()
    third = detail["questions"][2]
    # The server agrees: thinking ran out exactly 5 s of recording after the question.
    assert third["answer_takes"][0]["started_by"] == "limit"
    assert third["answer_takes"][0]["start_seconds"] == pytest.approx(third["asked_seconds"] + 5)

    heard = _heard(speaker_recording)
    print(f"speaker underflows: {speaker.underflows}")
    for index, times in ((0, 2), (2, 1)):
        served = api.request("GET", f"{interview_path}/questions/{index}/speech", people["admin"])
        speech, rate = _samples(served.content)
        assert rate == virtual_mic.speaker_rate
        # What is said, without the engine's silence before and after it: the end of that
        # silence may be cut short when the next sound starts (a repeat pressed at once).
        voiced = np.trim_zeros(speech)
        assert len(voiced) > rate  # more than a second of speech
        found = _occurrences(heard, voiced)
        print(f"question {index}: heard {len(found)} times, NCC {found}")
        assert len(found) == times, found

    # The answers hold the candidate's voice and none of the questions' (which the
    # microphone heard: the control below).
    spoken = _samples(answer.read_bytes())[0]
    for index in (0, 1):
        kept = api.request("GET", f"{interview_path}/questions/{index}/answer", people["admin"])
        take, _ = _samples(kept.content)
        _lag, ncc_answer = best_alignment(take, spoken)
        assert ncc_answer >= 0.9, ncc_answer
        for asked_index in (0, 1):
            speech_wav = api.request(
                "GET", f"{interview_path}/questions/{asked_index}/speech", people["admin"]
            ).content
            question = _at_16k(speech_wav, tmp_path, f"q{asked_index}")
            padded = np.concatenate([take, np.zeros(len(question), dtype=np.int16)])
            _lag, ncc_question = best_alignment(padded, question)
            print(f"answer {index}: NCC {ncc_answer:.4f} with the answer, "
                  f"{ncc_question:.4f} with question {asked_index}")  # fmt: skip
            assert ncc_question < 0.3, (index, asked_index, ncc_question)


def test_the_seat_microphone_hears_the_speaker_so_the_absence_means_something(
    virtual_mic: VirtualMic, tmp_path: Path
) -> None:
    """The control for the test above: on this seat, a sound from the speaker does reach
    the microphone."""
    virtual_mic.open_speaker()
    spoken = tmp_path / "spoken.wav"
    subprocess.run(["espeak-ng", "-w", str(spoken), "Describe a project you led."], check=True)
    heard = tmp_path / "mic.raw"
    env = {**os.environ, **virtual_mic.env}
    with heard.open("wb") as out:
        recorder = subprocess.Popen(
            ["parec", "--latency-msec=10", "--device=vmic", "--raw", f"--rate={RATE}",
             "--channels=1", "--format=s16le"], env=env, stdout=out,
        )  # fmt: skip
    try:
        time.sleep(0.3)
        subprocess.run(["paplay", "--device=spk", str(spoken)], env=env, check=True, timeout=30)
        time.sleep(0.3)
    finally:
        recorder.terminate()
        recorder.wait(5)
    question = _at_16k(spoken.read_bytes(), tmp_path, "spoken")
    _lag, ncc = best_alignment(_heard(heard), question)
    print(f"the microphone heard the speaker: NCC {ncc:.4f}")
    assert ncc > 0.9, ncc


@pytest.fixture(params=["posting", "kiosk.toml", "no speech engine"])
def off_by(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def off_api(off_by: str, tmp_path: Path) -> Iterator[Api]:
    """A backend that reads aloud, or (off by "no speech engine") has no engine at all."""
    engine = "none" if off_by == "no speech engine" else "espeak-ng"
    with serving(Settings(data_dir=tmp_path / "data", speech_engine=engine)) as api:
        yield api


@ON_QT_LOOP
async def test_with_reading_aloud_off_nothing_is_played_and_the_interview_runs(
    qtbot: object,
    off_by: str,
    off_api: Api,
    virtual_mic: VirtualMic,
    speaker_recording: Path,
    tmp_path: Path,
) -> None:
    from backend.app.models.enums import Role

    server = off_api
    people = {
        "proctor": server.make_user(Role.PROCTOR, "Pat Proctor"),
        "candidate": server.make_user(Role.CANDIDATE, "Casey Candidate"),
        "admin": server.make_user(Role.ADMIN),
    }
    posting = server.request("POST", "/api/v1/job-postings", people["admin"], json={
        "title": "Support Engineer", "company": "Contoso", "tech_stack": "go",
        "think_seconds": 30, "answer_seconds": 60, "takes": 1,
        "read_questions_aloud": off_by != "posting",
    }).json()  # fmt: skip
    server.request(
        "POST", "/api/v1/applications", people["candidate"], json={"job_posting_id": posting["id"]}
    )
    settings = {"kiosk_id": "seat-3", "read_questions_aloud": off_by != "kiosk.toml"}
    check = synthesize_speech("I am ready for my interview today.", tmp_path / "check.wav")

    window = MainWindow("seat-3", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(1280, 800)
    window.show()
    view = window.interview
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, server.url), KioskConfig.from_mapping(settings, "test"),
            tmp_path / "spool", MicrophoneCapture, list_input_devices,
            speaker=SpeakerPlayback(),
        )  # fmt: skip
        FlowController(window, flow, [], done_seconds=1.0)
        await _launch_check_and_start(window, flow, people, virtual_mic, check)
        await asyncio.sleep(2.0)  # time enough to have read a question, had it been on
        assert flow.reader is None or not flow.reader.available
        assert not view.repeat_button.isVisible()
        assert view.recording_label.text() == "● Recording"
        assert view.message_label.text() == ""  # nothing said to the candidate about it
        # The clock ran from the first moment: reading aloud did not hold it.
        assert view.timer_label.text() in ("Think · 0:28", "Think · 0:29")
        click(view.next_button)
        await until(lambda: _phase(flow) is Phase.ANSWERING)
        click(view.finish_button)
        await until(lambda: flow.state.screen is Screen.DONE, timeout=15)
    assert not _heard(speaker_recording).any()  # the speaker stayed silent


def _resampled(path: Path, rate: int, tmp_path: Path) -> np.ndarray:
    target = tmp_path / f"{path.stem}.{rate}.wav"
    subprocess.run(["sox", str(path), "-r", str(rate), str(target)], check=True)
    return _samples(target.read_bytes())[0]


@ON_QT_LOOP
async def test_a_practice_answer_is_heard_back_and_never_recorded(
    qtbot: object,
    api: Api,
    people: dict[str, Actor],
    virtual_mic: VirtualMic,
    speaker_recording: Path,
    tmp_path: Path,
) -> None:
    virtual_mic.open_speaker()  # the practice played back reaches the microphone too
    posting = api.request("POST", "/api/v1/job-postings", people["admin"], json={
        "title": "Support Engineer", "company": "Contoso", "tech_stack": "go",
        "think_seconds": 30, "answer_seconds": 60, "takes": 1,
        "read_questions_aloud": False,  # the speaker plays only the practice answer
    }).json()  # fmt: skip
    api.request(
        "POST", "/api/v1/applications", people["candidate"], json={"job_posting_id": posting["id"]}
    )
    check = synthesize_speech("I am ready for my interview today.", tmp_path / "check.wav")
    practice = synthesize_speech("I had toast and a cup of coffee.", tmp_path / "practice.wav")
    answer = synthesize_speech("I would read the logs first.", tmp_path / "answer.wav")

    window = MainWindow("seat-5", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(1280, 800)
    window.show()
    view = window.mic_check
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url), KioskConfig.from_mapping({"kiosk_id": "seat-5"}, "test"),
            tmp_path / "spool", MicrophoneCapture, list_input_devices, speaker=SpeakerPlayback(),
        )  # fmt: skip
        FlowController(window, flow, [], done_seconds=1.0)
        await launch_at_the_window(window, flow, people)
        assert not view.practice_answer_button.isVisible()  # offered once the microphone is checked
        click(view.check_button)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(virtual_mic.feed(check).wait, 30)
        await until(view.start_button.isEnabled, timeout=10)
        await until(view.practice_answer_button.isVisible)
        assert view.practice_answer_button.text() == "Practice an answer (up to 10 s)"

        view.practice_answer_button.setFocus()
        click(view.practice_answer_button)
        await until(lambda: view.practice_answer_button.text() == "Stop and play it back")
        assert "What did you have for breakfast today?" in view.practice_label.text()
        await asyncio.to_thread(virtual_mic.feed(practice).wait, 30)
        await asyncio.sleep(0.3)
        click(view.practice_answer_button)
        await until(lambda: view.practice_answer_button.text() == "Stop playing")
        await until(lambda: view.practice_answer_button.text() == "Practice again", timeout=15)
        assert window.focusWidget() is view.practice_answer_button

        click(view.start_button)
        await until(lambda: flow.state.screen is Screen.INTERVIEW)
        planned = flow.state.planned
        assert planned is not None
        click(window.interview.next_button)  # "Start answering"
        await until(lambda: _phase(flow) is Phase.ANSWERING)
        await asyncio.to_thread(virtual_mic.feed(answer).wait, 30)
        await asyncio.sleep(0.3)
        click(window.interview.finish_button)
        await until(lambda: flow.state.screen is Screen.DONE, timeout=15)

    # The practice answer came out of the speaker...
    spoken = _resampled(practice, virtual_mic.speaker_rate, tmp_path)
    _lag, ncc_heard = best_alignment(_heard(speaker_recording), np.trim_zeros(spoken))
    # ...and is nowhere in the interview's recording, which holds the answer.
    interview_path = f"/api/v1/interviews/{planned.interview_id}"
    recording = api.request("GET", f"{interview_path}/recording", people["admin"])
    assert recording.status_code == 200
    recorded, rate = _samples(recording.content)
    assert rate == RATE
    _lag, ncc_answer = best_alignment(recorded, np.trim_zeros(_samples(answer.read_bytes())[0]))
    _lag, ncc_practice = best_alignment(recorded, np.trim_zeros(_samples(practice.read_bytes())[0]))
    print(f"practice heard back: NCC {ncc_heard:.4f}; in the recording: answer "
          f"{ncc_answer:.4f}, practice {ncc_practice:.4f}")  # fmt: skip
    assert ncc_heard >= 0.95, ncc_heard
    assert ncc_answer >= 0.99, ncc_answer
    assert ncc_practice < 0.3, ncc_practice
    # Kept with the interview: that the candidate practised, and for how long.
    preflight = api.request("GET", interview_path, people["admin"]).json()["preflight"]
    assert preflight["fit"] is True and preflight["practice_used"] is True
    assert 2.0 < preflight["practice_seconds"] <= 10.0, preflight


@ON_QT_LOOP
async def test_with_no_time_to_think_the_answer_starts_when_the_reading_ends(
    api: Api, people: dict[str, Actor], virtual_mic: VirtualMic, tmp_path: Path
) -> None:
    """``think_seconds: 0`` starts the answer at once, but not under the question's voice:
    the answer's clock starts where the reading ends, and the candidate's first words count."""
    posting = api.request("POST", "/api/v1/job-postings", people["admin"], json={
        "title": "Support Engineer", "company": "Contoso", "tech_stack": "go",
        "think_seconds": 0, "answer_seconds": 30, "takes": 1,
    }).json()  # fmt: skip
    application = api.request(
        "POST", "/api/v1/applications", people["candidate"], json={"job_posting_id": posting["id"]}
    ).json()
    answer = synthesize_speech("I would read the logs first.", tmp_path / "answer.wav")
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url), KioskConfig.from_mapping({"kiosk_id": "seat-6"}, "test"),
            tmp_path / "spool", MicrophoneCapture, list_input_devices, speaker=SpeakerPlayback(),
        )  # fmt: skip
        flow.open_sign_in()
        await flow.sign_in(people["proctor"].email, people["proctor"].password)
        candidate = next(c for c in flow.state.candidates if c.email == people["candidate"].email)
        await flow.launch(candidate)
        await flow.choose(application_id=application["id"])
        await flow.start_interview()
        reader, streamer = flow.reader, flow.streamer
        assert reader is not None and reader.reading and streamer is not None
        asked = streamer.captured_end
        while reader.reading:  # the whole reading: still "thinking", nothing recorded
            assert _phase(flow) is Phase.THINKING
            assert streamer.captured_end == asked
            await asyncio.sleep(0.05)
        await until(lambda: _phase(flow) is Phase.ANSWERING, timeout=2)
        await asyncio.to_thread(virtual_mic.feed(answer).wait, 30)
        await asyncio.sleep(0.3)
        await flow.finish_answer()  # one take: kept
        await flow.finish()
        planned = flow.state.planned
    assert planned is not None
    interview_path = f"/api/v1/interviews/{planned.interview_id}"
    first = api.request("GET", interview_path, people["admin"]).json()["questions"][0]
    take = first["answer_takes"][0]
    assert take["started_by"] == "limit" and take["start_seconds"] == first["asked_seconds"]
    kept = api.request("GET", f"{interview_path}/questions/0/answer", people["admin"])
    _lag, ncc = best_alignment(_samples(kept.content)[0], _samples(answer.read_bytes())[0])
    assert ncc >= 0.99, ncc  # the first words are in the answer, none lost to the reading
