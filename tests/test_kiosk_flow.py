"""The kiosk's whole flow, driven through its real window on the Qt event loop, against a
real backend, with speech played into the virtual microphone."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

import httpx
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from backend.app.models.enums import Role
from kiosk.audio.capture import MicrophoneCapture
from kiosk.audio.devices import list_input_devices
from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.flow import KioskFlow, Screen
from kiosk.ui.controllers.flow_controller import FlowController
from kiosk.ui.views.main_window import MainWindow
from support.api import Actor, Api
from support.audio import best_alignment, read_pcm16, synthesize_speech
from support.heartbeat import Heartbeat
from support.qt import ON_QT_LOOP, click, until
from support.vmic import VirtualMic

# Drives real windows on a qasync loop; tests/conftest.py deletes them on the main thread.
pytestmark = pytest.mark.qt_window


@ON_QT_LOOP
async def test_lock_launch_interview_done_lock_with_speech_in_the_recording(
    qtbot: object, api: Api, people: dict[str, Actor], virtual_mic: VirtualMic, tmp_path: Path
) -> None:
    posting = api.request("POST", "/api/v1/job-postings", people["admin"], json={
        "title": "Platform Engineer", "company": "Northwind", "tech_stack": ["Kubernetes"],
        "required_skills": ["kubernetes"],
    }).json()  # fmt: skip
    application = api.request(
        "POST", "/api/v1/applications", people["candidate"], json={"job_posting_id": posting["id"]}
    ).json()
    check = synthesize_speech("I am ready for my interview today.", tmp_path / "check.wav")
    answers = [
        synthesize_speech("I have run Kubernetes clusters in production for three years.",
                          tmp_path / "answer1.wav"),
        synthesize_speech("We rolled out changes with canary deployments and good alerts.",
                          tmp_path / "answer2.wav"),
    ]  # fmt: skip

    window = MainWindow("seat-9", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(1280, 800)
    window.show()
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url),
            KioskConfig.from_mapping({"kiosk_id": "seat-9"}, "test"),
            tmp_path / "spool",
            MicrophoneCapture,
            list_input_devices,
        )
        FlowController(window, flow, ["python"], done_seconds=1.0)
        assert window.stack.currentWidget() is window.locked

        click(window.locked.sign_in_button)
        assert window.stack.currentWidget() is window.sign_in
        window.sign_in.email_edit.setText(people["proctor"].email)
        window.sign_in.password_edit.setText(people["proctor"].password)
        click(window.sign_in.sign_in_button)
        await until(lambda: flow.state.screen is Screen.LAUNCH)
        assert window.sign_in.password_edit.text() == ""  # not left on screen

        names = [c.email for c in flow.state.candidates]
        window.launch.candidate_list.setCurrentRow(names.index(people["candidate"].email))
        click(window.launch.launch_button)
        await until(lambda: flow.state.screen is Screen.CHOOSE)
        assert window.choose.greeting_label.text() == "Hello, Casey Candidate"
        assert "Platform Engineer · Northwind" in window.choose.application_list.item(0).text()

        click(window.choose.choose_button)
        await until(lambda: flow.state.screen is Screen.MIC_CHECK)
        # The rules before the first question: a practice posting's defaults.
        assert window.mic_check.summary_label.text() == (
            "5 questions · 30 s to think · up to 3 min per answer · 1 take each"
        )
        # The picker lists the seat's inputs with the system default chosen.
        assert window.mic_check.device_combo.count() >= 1
        assert window.mic_check.device_combo.currentText().endswith("(default)")
        click(window.mic_check.check_button)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(virtual_mic.feed(check).wait, 30)
        await until(lambda: flow.state.mic_result is not None, timeout=10)
        await until(window.mic_check.start_button.isEnabled)  # the check is saved too
        assert flow.state.mic_result is not None and flow.state.mic_result.fit, (
            flow.state.mic_result
        )
        assert window.mic_check.verdict_label.text() == "The microphone is working well."
        assert window.mic_check.level_meter.value() >= 0

        # A 10 ms heartbeat on the Qt loop, from the interview's start to its end: capture,
        # spooling, streaming and drawing must never hold the loop for long.
        heartbeat = Heartbeat(window)
        heartbeat.start()
        click(window.mic_check.start_button)
        await until(lambda: flow.state.screen is Screen.INTERVIEW)
        planned = flow.state.planned
        assert planned is not None
        assert window.interview.progress_label.text() == "Question 1 of 5"
        for number, answer in enumerate(answers, start=1):
            assert window.interview.next_button.text() == "Start answering"
            assert window.interview.timer_label.text().startswith("Think · 0:")
            click(window.interview.next_button)
            await until(lambda: window.interview.next_button.text() == "Finish this answer")
            await asyncio.sleep(0.3)
            await asyncio.to_thread(virtual_mic.feed(answer).wait, 30)
            await asyncio.sleep(0.3)
            click(window.interview.next_button)  # one take: kept, and the next question
            await until(lambda n=number: flow.state.question is not None
                        and flow.state.question.index == n)  # fmt: skip
        assert window.interview.progress_label.text() == "Question 3 of 5"
        await until(lambda: window.interview.connection_label.text() == "Streaming", timeout=2)

        click(window.interview.finish_button)
        await until(lambda: flow.state.screen is Screen.DONE)
        report = heartbeat.stop()
        print(report)
        # The loop never stalls over 50 ms by its own doing: busy, blocked in a system call,
        # or waiting for the GIL held by the embedded backend's thread (all counted). Time the
        # kernel kept the thread waiting for a CPU is the shared machine's, not the kiosk's
        # (support/heartbeat.py); the wall-clock figures are printed beside it. (Before the
        # spool's fsync and PortAudio's open/close left the GUI thread: up to 168 ms here.)
        assert report.worst_own_ms < 50, report
        assert report.p99_ms < 50, report
        assert window.done.duration_label.text().startswith("You spoke for 0 min")
        await until(lambda: flow.state.screen is Screen.LOCKED, timeout=5)
        assert window.stack.currentWidget() is window.locked
        assert flow.state.candidate is None and flow.streamer is None

    detail = api.request(
        "GET", f"/api/v1/interviews/{planned.interview_id}", people["admin"]
    ).json()
    assert detail["status"] == "completed"
    assert detail["application_id"] == application["id"]
    assert detail["kiosk_id"] == "seat-9"
    assert detail["preflight"]["fit"] is True  # the seat's check is kept for reviewers
    assert detail["preflight"]["speech_level_dbfs"] > detail["preflight"]["noise_floor_dbfs"]
    answered = [q for q in detail["questions"] if q["answer_end_seconds"] is not None]
    assert len(answered) == 3  # two answers, and the third question's span up to "finish"
    wav = api.request(
        "GET", f"/api/v1/interviews/{planned.interview_id}/recording", people["admin"]
    )
    with wave.open(io.BytesIO(wav.content)) as served:
        recording = np.frombuffer(served.readframes(served.getnframes()), dtype=np.int16)
    for number, answer in enumerate(answers):
        question = detail["questions"][number]
        start = int(question["answer_start_seconds"] * 16000)
        end = int(question["answer_end_seconds"] * 16000)
        lag, ncc = best_alignment(recording[start:end], read_pcm16(answer))
        assert ncc >= 0.99, f"answer {number + 1}: ncc {ncc:.4f} at lag {lag}"


@ON_QT_LOOP
async def test_wrong_proctor_password_says_so_and_stays(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    window = MainWindow("seat-9", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url),
            KioskConfig.from_mapping({}, "test"),
            tmp_path,
            MicrophoneCapture,
        )
        FlowController(window, flow, [])
        click(window.locked.sign_in_button)
        window.sign_in.email_edit.setText(people["proctor"].email)
        window.sign_in.password_edit.setText("not-the-password")
        click(window.sign_in.sign_in_button)
        await until(lambda: window.sign_in.message_label.text() != "")
    assert window.sign_in.message_label.text() == "Wrong email or password."
    assert flow.state.screen is Screen.SIGN_IN


@ON_QT_LOOP
async def test_a_candidate_without_applications_is_offered_practice(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    window = MainWindow("seat-9", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url),
            KioskConfig.from_mapping({}, "test"),
            tmp_path,
            MicrophoneCapture,
        )
        FlowController(window, flow, ["python", "sales"])
        flow.open_sign_in()
        await flow.sign_in(people["proctor"].email, people["proctor"].password)
        candidate = next(c for c in flow.state.candidates if c.email == people["candidate"].email)
        await flow.launch(candidate)
        assert window.choose.application_list.count() == 0
        assert "no applications yet" in window.choose.message_label.text()
        click(window.choose.choose_button)
        await until(
            lambda: window.choose.message_label.text().startswith("You have no application")
        )
        window.choose.practice_roles.setCurrentText("sales")
        # No microphone here: choosing plans the interview; the capture is not needed to pass.
        flow._capture_factory = lambda _on_block, _device: _Silent()
        click(window.choose.practice_button)
        await until(lambda: flow.state.screen is Screen.MIC_CHECK)
    assert window.mic_check.summary_label.text().startswith("5 questions · 30 s to think")


class _Silent:
    def start(self, loop: object) -> None:
        pass

    def stop(self) -> None:
        pass


@ON_QT_LOOP
async def test_backend_unreachable_at_sign_in_is_a_plain_message(
    qtbot: object, tmp_path: Path
) -> None:
    window = MainWindow("seat-9", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, "http://127.0.0.1:9"), KioskConfig.from_mapping({}, "test"), tmp_path,
            MicrophoneCapture,
        )  # fmt: skip
        FlowController(window, flow, [])
        click(window.locked.sign_in_button)
        window.sign_in.email_edit.setText("p@example.com")
        window.sign_in.password_edit.setText("whatever")
        click(window.sign_in.sign_in_button)
        await until(lambda: window.sign_in.message_label.text() != "")
    assert window.sign_in.message_label.text() == (
        "The interview server cannot be reached. Try again."
    )
    assert window.stack.currentWidget() is window.sign_in  # still there, to try again
    assert "Traceback" not in window.sign_in.message_label.text()


@ON_QT_LOOP
async def test_the_proctor_searches_and_launches_by_keyboard(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    other = api.make_user(Role.CANDIDATE, "Robin Other")
    window = MainWindow("seat-9", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    window.activateWindow()
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url), KioskConfig.from_mapping({}, "test"), tmp_path,
            MicrophoneCapture,
        )  # fmt: skip
        FlowController(window, flow, [])
        assert window.focusWidget() is window.locked.sign_in_button
        QTest.keyClick(window.focusWidget(), Qt.Key.Key_Return)
        assert window.focusWidget() is window.sign_in.email_edit
        QTest.keyClicks(window.sign_in.email_edit, people["proctor"].email)
        QTest.keyClick(window.sign_in.email_edit, Qt.Key.Key_Tab)
        QTest.keyClicks(window.focusWidget(), people["proctor"].password)
        QTest.keyClick(window.focusWidget(), Qt.Key.Key_Return)
        await until(lambda: flow.state.screen is Screen.LAUNCH)
        assert window.focusWidget() is window.launch.search_edit
        QTest.keyClicks(window.launch.search_edit, "Robin Oth")
        # The list the proctor sees is the search's result, and Launch takes its first row.
        await until(lambda: window.launch.candidate_list.count() == 1, timeout=5)
        assert window.launch.candidate_list.item(0).text() == f"Robin Other · {other.email}"
        QTest.keyClick(window.launch.search_edit, Qt.Key.Key_Tab)
        assert window.focusWidget() is window.launch.candidate_list
        QTest.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
        assert window.focusWidget() is window.launch.extra_time_combo  # left at "No extra time"
        QTest.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
        assert window.focusWidget() is window.launch.launch_button
        QTest.keyClick(window.launch.launch_button, Qt.Key.Key_Return)
        await until(lambda: flow.state.screen is Screen.CHOOSE)
    assert window.choose.greeting_label.text() == "Hello, Robin Other"
