"""The kiosk when things go wrong: the backend vanishes mid-interview, the kiosk crashes and
is restarted, the candidate walks away, the seat has no microphone.

Real window, real backend, real spool on disk; the audio comes from a seeded synthetic
microphone (tests/support/capture.py) so the server's recording can be compared byte for
byte with what was captured. The real microphone path is tests/test_kiosk_flow.py's.
"""

from __future__ import annotations

import asyncio
import io
import re
import wave
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from kiosk.audio.capture import MicrophoneCapture
from kiosk.audio.devices import list_input_devices
from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.flow import NO_MICROPHONE, KioskFlow, Screen
from kiosk.core.spool import Spool
from kiosk.ui.controllers.flow_controller import FlowController
from kiosk.ui.views.main_window import MainWindow
from support.api import Actor, Api
from support.capture import HISS, SPEECH, SyntheticMic
from support.proxy import CuttableProxy
from support.qt import ON_QT_LOOP, click, until

# Drives real windows on a qasync loop; tests/conftest.py deletes them on the main thread.
pytestmark = pytest.mark.qt_window

CONFIG = KioskConfig.from_mapping({"kiosk_id": "seat-4", "test_center": "Leeds"}, "test")


def make_window(qtbot: object) -> MainWindow:
    window = MainWindow("seat-4", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(1280, 800)
    window.show()
    return window


async def to_the_interview(flow: KioskFlow, people: dict[str, Actor]) -> None:
    """Proctor signs in and launches; the candidate takes a practice interview."""
    flow.open_sign_in()
    await flow.sign_in(people["proctor"].email, people["proctor"].password)
    candidate = next(c for c in flow.state.candidates if c.email == people["candidate"].email)
    await flow.launch(candidate)
    await flow.choose(role_type="python")
    await flow.start_interview()
    assert flow.state.screen is Screen.INTERVIEW


def served_recording(api: Api, admin: Actor, interview_id: str) -> bytes:
    response = api.request("GET", f"/api/v1/interviews/{interview_id}/recording", admin)
    assert response.status_code == 200, response.text
    with wave.open(io.BytesIO(response.content)) as wav:
        return wav.readframes(wav.getnframes())


@ON_QT_LOOP
async def test_backend_lost_mid_interview_recording_continues_and_catches_up(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    backend = urlsplit(api.url)
    proxy = await CuttableProxy(str(backend.hostname), int(backend.port or 80)).start()
    mic = SyntheticMic()
    window = make_window(qtbot)
    try:
        async with httpx.AsyncClient() as http:
            flow = KioskFlow(
                KioskApi(http, f"http://127.0.0.1:{proxy.port}"), CONFIG, tmp_path / "spool", mic
            )
            FlowController(window, flow, ["python"], done_seconds=60)
            await to_the_interview(flow, people)
            label = window.interview.connection_label
            await until(lambda: label.text() == "Streaming", timeout=5)
            await asyncio.sleep(0.5)

            proxy.go_down()
            await until(lambda: label.text().startswith("Reconnecting"), timeout=5)
            captured_at_drop = len(mic.captures[-1])
            await asyncio.sleep(3.0)
            # The candidate keeps talking: still recording, and the screen says how much
            # audio is waiting for the server.
            assert flow.state.screen is Screen.INTERVIEW
            assert len(mic.captures[-1]) - captured_at_drop >= 2 * 32000
            match = re.fullmatch(r"Reconnecting · (\d+) s not yet saved", label.text())
            assert match and int(match.group(1)) >= 2, label.text()
            assert window.interview.recording_label.isVisible()

            proxy.come_back()
            await until(lambda: label.text() == "Streaming", timeout=15)
            streamer = flow.streamer
            assert streamer is not None and streamer.reconnects >= 1
            await until(lambda: streamer.unacked_seconds < 0.5, timeout=10)
            planned = flow.state.planned
            assert planned is not None
            click(window.interview.finish_button)
            await until(lambda: flow.state.screen is Screen.DONE, timeout=15)
    finally:
        await proxy.stop()
    # captures[0] was the check screen's; [1] is the interview's, every byte of it.
    assert served_recording(api, people["admin"], planned.interview_id) == bytes(mic.captures[1])


@ON_QT_LOOP
async def test_after_a_crash_a_proctor_resumes_the_interview_where_it_stopped(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    mic = SyntheticMic()
    async with httpx.AsyncClient() as http:
        # The first run of the kiosk: one answer given, then it dies mid-way through the
        # second. No window needed; what matters is what it leaves on disk.
        crashed = KioskFlow(KioskApi(http, api.url), CONFIG, spool_dir, mic)
        await to_the_interview(crashed, people)
        await asyncio.sleep(0.6)
        await crashed.next_question()
        await asyncio.sleep(0.6)
        crashed._stop_capture()
        assert crashed._stream_task is not None
        crashed._stream_task.cancel()  # the process is gone: no `end`, no goodbye
        await asyncio.sleep(0.1)
        [info] = Spool.find(spool_dir)
        assert (info.candidate_email, info.candidate_name) == (
            people["candidate"].email, "Casey Candidate",
        )  # fmt: skip
        # Audio captured in the instant before the crash, journaled but never sent.
        never_sent = mic.block() * 10
        spool = Spool(spool_dir, info)
        spool.append(never_sent)
        spool.close()

        # The kiosk restarts; a proctor signs in and is offered the interview.
        window = make_window(qtbot)
        flow = KioskFlow(KioskApi(http, api.url), CONFIG, spool_dir, mic)
        FlowController(window, flow, ["python"], done_seconds=60)
        click(window.locked.sign_in_button)
        window.sign_in.email_edit.setText(people["proctor"].email)
        window.sign_in.password_edit.setText(people["proctor"].password)
        click(window.sign_in.sign_in_button)
        await until(lambda: flow.state.screen is Screen.LAUNCH)
        resume = window.launch.resume_button
        assert resume.isVisible()
        assert resume.text() == "Resume Casey Candidate at question 2"
        click(resume)
        await until(lambda: flow.state.screen is Screen.INTERVIEW)
        assert window.interview.progress_label.text() == "Question 2 of 5"
        await asyncio.sleep(0.6)
        click(window.interview.finish_button)
        await until(lambda: flow.state.screen is Screen.DONE, timeout=15)

    # captures: [0] the first run's check screen, [1] its interview, [2] the resumed one.
    expected = bytes(mic.captures[1]) + never_sent + bytes(mic.captures[2])
    assert served_recording(api, people["admin"], info.interview_id) == expected
    assert Spool.find(spool_dir) == []  # completed: the journal is gone
    detail = api.request("GET", f"/api/v1/interviews/{info.interview_id}", people["admin"]).json()
    assert detail["status"] == "completed"
    assert detail["questions"][0]["answer_end_seconds"] is not None


@ON_QT_LOOP
async def test_an_idle_candidate_screen_pauses_until_a_proctor_signs_in(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    window = make_window(qtbot)
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(KioskApi(http, api.url), CONFIG, tmp_path / "spool", SyntheticMic())
        FlowController(window, flow, ["python"])
        flow.open_sign_in()
        await flow.sign_in(people["proctor"].email, people["proctor"].password)
        candidate = next(c for c in flow.state.candidates if c.email == people["candidate"].email)
        await flow.launch(candidate)
        flow.idle_seconds = 1.0
        # Keys count as input: pressing one now and then keeps the screen alive.
        for _ in range(6):
            await asyncio.sleep(0.4)
            QTest.keyClick(window.choose.application_list, Qt.Key.Key_Down)
        assert flow.state.screen is Screen.CHOOSE

        await until(lambda: flow.state.screen is Screen.PAUSED, timeout=3)
        assert window.stack.currentWidget() is window.paused
        # The candidate cannot let themselves back in.
        window.paused.email_edit.setText(people["candidate"].email)
        window.paused.password_edit.setText(people["candidate"].password)
        click(window.paused.continue_button)
        await until(lambda: window.paused.message_label.text() != "")
        assert window.paused.message_label.text() == "Only a proctor can do this."
        assert flow.state.screen is Screen.PAUSED
        window.paused.email_edit.setText(people["proctor"].email)
        window.paused.password_edit.setText(people["proctor"].password)
        click(window.paused.continue_button)
        await until(lambda: flow.state.screen is Screen.CHOOSE)
        assert window.stack.currentWidget() is window.choose
        assert window.paused.password_edit.text() == ""


@ON_QT_LOOP
async def test_speech_keeps_an_interview_alive_and_a_proctor_can_end_it_when_idle(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    window = make_window(qtbot)
    mic = SyntheticMic()
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(KioskApi(http, api.url), CONFIG, tmp_path / "spool", mic)
        FlowController(window, flow, ["python"], done_seconds=60)
        await to_the_interview(flow, people)
        flow.idle_seconds = 1.0
        mic.amplitude = SPEECH  # answering aloud, touching nothing
        await asyncio.sleep(2.5)
        assert flow.state.screen is Screen.INTERVIEW
        mic.amplitude = HISS  # the seat is empty: only the room's hiss
        await until(lambda: flow.state.screen is Screen.PAUSED, timeout=3)
        planned = flow.state.planned
        assert planned is not None
        window.paused.email_edit.setText(people["proctor"].email)
        window.paused.password_edit.setText(people["proctor"].password)
        click(window.paused.end_button)
        await until(lambda: flow.state.screen is Screen.LOCKED, timeout=15)
    detail = api.request("GET", f"/api/v1/interviews/{planned.interview_id}", people["admin"])
    assert detail.json()["status"] == "completed"
    # Everything captured before the pause is kept.
    assert served_recording(api, people["admin"], planned.interview_id) == bytes(mic.captures[1])


@pytest.fixture
def no_microphone() -> Iterator[None]:
    """PortAudio with no sound server and no sound card: no input device at all."""
    import os

    import sounddevice as sd

    saved = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = "unix:/nonexistent/pulse/native"
    sd._terminate()  # PortAudio reads the audio set-up only when it initialises
    sd._initialize()
    try:
        yield
    finally:
        sd._terminate()
        if saved is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = saved
        sd._initialize()


@ON_QT_LOOP
async def test_a_seat_without_a_microphone_says_so_and_does_not_start(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path, no_microphone: None
) -> None:
    assert list_input_devices() == []
    window = make_window(qtbot)
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url), CONFIG, tmp_path / "spool", MicrophoneCapture,
            list_input_devices,
        )  # fmt: skip
        FlowController(window, flow, ["python"])
        flow.open_sign_in()
        await flow.sign_in(people["proctor"].email, people["proctor"].password)
        candidate = next(c for c in flow.state.candidates if c.email == people["candidate"].email)
        await flow.launch(candidate)
        window.choose.practice_roles.setCurrentText("python")
        click(window.choose.practice_button)
        await until(lambda: flow.state.screen is Screen.MIC_CHECK)
        assert window.mic_check.verdict_label.text() == NO_MICROPHONE
        assert window.mic_check.device_combo.count() == 0
        click(window.mic_check.check_button)
        await until(lambda: window.mic_check.message_label.text() != "")
        assert window.mic_check.message_label.text() == NO_MICROPHONE
        window.mic_check.show_message("")
        click(window.mic_check.start_button)
        await until(lambda: window.mic_check.message_label.text() == NO_MICROPHONE)
        await asyncio.sleep(0.2)
        assert flow.state.screen is Screen.MIC_CHECK
        assert "Traceback" not in window.mic_check.message_label.text()
    assert not (tmp_path / "spool").exists() or Spool.find(tmp_path / "spool") == []
