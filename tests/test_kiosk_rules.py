"""Interview rules at the seat (issue 14), end to end: the real window on the Qt loop, a real
backend, speech played into the virtual microphone, a posting with 5 s to think, 8 s per
answer and 2 takes. The candidate thinks, answers, tries again and keeps the second take; the
next answer runs into its limit and ends by itself; thinking runs out by itself on the third.
"""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest

from kiosk.audio.capture import MicrophoneCapture
from kiosk.audio.devices import list_input_devices
from kiosk.core.answer_clock import Phase
from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.flow import KioskFlow, Screen
from kiosk.core.streamer import StreamState
from kiosk.ui.controllers.flow_controller import FlowController
from kiosk.ui.views.main_window import MainWindow
from support.api import Actor, Api
from support.audio import best_alignment, read_pcm16, synthesize_speech
from support.capture import SyntheticMic
from support.proxy import CuttableProxy
from support.qt import ON_QT_LOOP, click, until
from support.vmic import VirtualMic

pytestmark = pytest.mark.qt_window

RATE = 16000


def _phase(flow: KioskFlow) -> Phase | None:
    return flow.state.answer.phase if flow.state.answer else None


async def launch_at_the_window(
    window: MainWindow, flow: KioskFlow, people: dict[str, Actor], extra_time: str = ""
) -> None:
    """The proctor signs in and launches the candidate (granting ``extra_time``, a choice
    the launch screen offers), who starts with their application: the microphone check."""
    click(window.locked.sign_in_button)
    window.sign_in.email_edit.setText(people["proctor"].email)
    window.sign_in.password_edit.setText(people["proctor"].password)
    click(window.sign_in.sign_in_button)
    await until(lambda: flow.state.screen is Screen.LAUNCH)
    combo = window.launch.extra_time_combo
    assert combo.currentText() == "No extra time"  # never carried over from a last launch
    if extra_time:
        combo.setCurrentIndex(combo.findText(extra_time))
    names = [c.email for c in flow.state.candidates]
    window.launch.candidate_list.setCurrentRow(names.index(people["candidate"].email))
    click(window.launch.launch_button)
    await until(lambda: flow.state.screen is Screen.CHOOSE)
    click(window.choose.choose_button)
    await until(lambda: flow.state.screen is Screen.MIC_CHECK)


@ON_QT_LOOP
async def test_think_answer_retry_keep_and_a_limit_that_ends_the_answer(
    qtbot: object, api: Api, people: dict[str, Actor], virtual_mic: VirtualMic, tmp_path: Path
) -> None:
    posting = api.request("POST", "/api/v1/job-postings", people["admin"], json={
        "title": "Support Engineer", "company": "Contoso", "tech_stack": "go",
        "think_seconds": 5, "answer_seconds": 8, "takes": 2,
    }).json()  # fmt: skip
    api.request(
        "POST", "/api/v1/applications", people["candidate"], json={"job_posting_id": posting["id"]}
    )
    check = synthesize_speech("I am ready for my interview today.", tmp_path / "check.wav")
    first_take = synthesize_speech("Um, let me start that again.", tmp_path / "take1.wav")
    second_take = synthesize_speech(
        "I would read the logs first, then reproduce the problem.", tmp_path / "take2.wav"
    )

    window = MainWindow("seat-7", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(1280, 800)
    window.show()
    interview = window.interview
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url),
            KioskConfig.from_mapping({"kiosk_id": "seat-7"}, "test"),
            tmp_path / "spool",
            MicrophoneCapture,
            list_input_devices,
        )
        FlowController(window, flow, [], done_seconds=1.0)
        await launch_at_the_window(window, flow, people)
        assert window.mic_check.summary_label.text() == (
            "5 questions · 5 s to think · up to 8 s per answer · 2 takes each"
        )
        click(window.mic_check.check_button)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(virtual_mic.feed(check).wait, 30)
        await until(window.mic_check.start_button.isEnabled, timeout=10)

        click(window.mic_check.start_button)
        await until(lambda: flow.state.screen is Screen.INTERVIEW)
        planned = flow.state.planned
        assert planned is not None

        # Question 1: think, answer, try again, and the second take is kept.
        assert interview.timer_label.text() in ("Think · 0:05", "Think · 0:04")
        assert interview.next_button.text() == "Start answering"
        click(interview.next_button)
        await until(lambda: interview.next_button.text() == "Finish this answer")
        # Eight seconds is under ten: the warning shows from the start.
        await until(lambda: interview.warning_label.text() == "10 seconds left", timeout=2)
        await asyncio.to_thread(virtual_mic.feed(first_take).wait, 30)
        await asyncio.sleep(0.2)
        click(interview.next_button)
        await until(lambda: _phase(flow) is Phase.DECIDING)
        await until(lambda: interview.retry_button.isVisible())
        assert interview.timer_label.text() == "Keep this answer, or try again?"
        assert interview.next_button.text() == "Keep this answer"
        assert interview.retry_button.isVisible()
        assert interview.retry_button.text() == "Try again (1 left)"
        interview.retry_button.setFocus()
        click(interview.retry_button)
        await until(lambda: _phase(flow) is Phase.ANSWERING)
        await until(lambda: not interview.retry_button.isVisible())
        # The keyboard is on "Finish this answer", never on "Finish the interview".
        assert window.focusWidget() is interview.next_button
        await asyncio.to_thread(virtual_mic.feed(second_take).wait, 30)
        await asyncio.sleep(0.2)
        click(interview.next_button)  # the last take: kept as it ends
        await until(lambda: flow.state.question is not None and flow.state.question.index == 1)
        assert window.focusWidget() is interview.next_button  # now "Start answering"
        assert interview.progress_label.text() == "Question 2 of 5"

        # Question 2: the answer runs into its 8 s limit and ends by itself.
        click(interview.next_button)
        await until(lambda: _phase(flow) is Phase.ANSWERING)
        await until(lambda: _phase(flow) is Phase.DECIDING, timeout=12)
        click(interview.next_button)  # keep it
        await until(lambda: flow.state.question is not None and flow.state.question.index == 2)

        # Question 3: thinking runs out by itself after 5 s, and the answer starts.
        assert _phase(flow) is Phase.THINKING
        await until(lambda: _phase(flow) is Phase.ANSWERING, timeout=8)
        assert interview.next_button.text() == "Finish this answer"
        click(interview.finish_button)
        await until(lambda: flow.state.screen is Screen.DONE, timeout=15)

    interview_path = f"/api/v1/interviews/{planned.interview_id}"
    detail = api.request("GET", interview_path, people["admin"]).json()
    assert detail["status"] == "completed"
    first, second, third = detail["questions"][:3]
    assert [(t["take"], t["end_reason"], t["kept"]) for t in first["answer_takes"]] == [
        (1, "candidate", False), (2, "candidate", True),
    ]  # fmt: skip
    assert first["kept_take"] == 2
    assert [(t["end_reason"], t["seconds"]) for t in second["answer_takes"]] == [("limit", 8.0)]
    assert third["answer_takes"][0]["started_by"] == "limit"
    assert third["answer_takes"][0]["start_seconds"] == pytest.approx(third["asked_seconds"] + 5)

    # The kept take's audio is the second take's speech, and the first take is not in it.
    served = api.request("GET", f"{interview_path}/questions/0/answer", people["admin"])
    assert served.status_code == 200 and served.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(served.content)) as wav:
        kept = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    assert len(kept) == round(first["answer_takes"][1]["seconds"] * RATE)
    _lag, ncc = best_alignment(kept, read_pcm16(second_take))
    assert ncc >= 0.99, ncc
    _lag, ncc_first = best_alignment(kept, read_pcm16(first_take))
    print(f"kept take: ncc {ncc:.4f} with the second take, {ncc_first:.4f} with the first")
    assert ncc_first < 0.5, ncc_first


@ON_QT_LOOP
async def test_a_cut_link_and_a_crash_mid_answer_leave_its_time_exactly_as_it_was(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    """ "Start answering" pressed while the link is down reaches the server at the offset it
    was pressed at; a kiosk that dies mid-answer resumes with the same limit, and the time
    the kiosk was down does not count. The take ends at its limit, 8 s of audio exactly."""
    posting = api.request("POST", "/api/v1/job-postings", people["admin"], json={
        "title": "Support Engineer", "company": "Contoso", "tech_stack": "go",
        "think_seconds": 30, "answer_seconds": 8, "takes": 1,
    }).json()  # fmt: skip
    application = api.request(
        "POST", "/api/v1/applications", people["candidate"], json={"job_posting_id": posting["id"]}
    ).json()
    backend = urlsplit(api.url)
    proxy = await CuttableProxy(str(backend.hostname), int(backend.port or 80)).start()
    spool_dir = tmp_path / "spool"
    mic = SyntheticMic()
    config = KioskConfig.from_mapping({"kiosk_id": "seat-4"}, "test")
    try:
        async with httpx.AsyncClient() as http:
            crashed = KioskFlow(KioskApi(http, f"http://127.0.0.1:{proxy.port}"), config,
                                spool_dir, mic)  # fmt: skip
            crashed.open_sign_in()
            await crashed.sign_in(people["proctor"].email, people["proctor"].password)
            candidate = next(c for c in crashed.state.candidates
                             if c.email == people["candidate"].email)  # fmt: skip
            await crashed.launch(candidate)
            await crashed.choose(application_id=application["id"])
            await crashed.start_interview()
            streamer = crashed.streamer
            assert streamer is not None
            await asyncio.sleep(0.5)

            proxy.go_down()  # the link drops while the candidate thinks...
            await until(lambda: streamer.state is StreamState.RECONNECTING, timeout=5)
            await crashed.start_answering()  # ...and "Start answering" is pressed meanwhile
            clock = crashed.state.answer
            assert clock is not None and clock.answer_limit is not None
            pressed_at, limit = streamer.captured_end, clock.answer_limit
            await asyncio.sleep(1.0)
            proxy.come_back()
            await until(lambda: streamer.state is StreamState.STREAMING, timeout=15)
            await asyncio.sleep(1.0)

            # The kiosk dies 3 s or so into its 8 s answer.
            left_at_crash = clock.remaining(streamer.captured_end)
            assert left_at_crash is not None and 3 < left_at_crash < 7
            crashed._stop_capture()
            assert crashed._stream_task is not None
            crashed._stream_task.cancel()  # the process is gone: no goodbye
            await asyncio.sleep(1.5)  # down for a while: not the candidate's time

            flow = KioskFlow(KioskApi(http, api.url), config, spool_dir, mic)
            flow.open_sign_in()
            await flow.sign_in(people["proctor"].email, people["proctor"].password)
            await flow.resume(flow.state.resumable[0])
            resumed = flow.state.answer
            assert flow.streamer is not None and resumed is not None
            assert resumed.phase is Phase.ANSWERING
            assert resumed.answer_limit == limit  # the server's limit, to the byte
            left = resumed.remaining(flow.streamer.captured_end)
            assert left is not None
            assert left == pytest.approx(left_at_crash, abs=0.25)
            await until(lambda: flow.state.answer is not None
                        and flow.state.answer.index == 1, timeout=left + 5)  # fmt: skip
            planned_id = flow.streamer.interview_id
            await flow.finish()
    finally:
        await proxy.stop()

    detail = api.request("GET", f"/api/v1/interviews/{planned_id}", people["admin"]).json()
    [take] = detail["questions"][0]["answer_takes"]
    assert take["start_seconds"] * 2 * RATE == pytest.approx(clock.answer_limit - 8 * 2 * RATE)
    assert abs(take["start_seconds"] * 2 * RATE - pressed_at) <= 2  # where it was pressed
    assert (take["end_reason"], take["seconds"]) == ("limit", 8.0)


@ON_QT_LOOP
async def test_extra_time_granted_at_launch_stretches_the_rules_the_candidate_reads(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    posting = api.request("POST", "/api/v1/job-postings", people["admin"], json={
        "title": "Support Engineer", "company": "Contoso", "tech_stack": "go",
        "think_seconds": 5, "answer_seconds": 8, "takes": 2,
    }).json()  # fmt: skip
    api.request(
        "POST", "/api/v1/applications", people["candidate"], json={"job_posting_id": posting["id"]}
    )
    window = MainWindow("seat-7", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, api.url), KioskConfig.from_mapping({"kiosk_id": "seat-7"}, "test"),
            tmp_path / "spool", SyntheticMic(),
        )  # fmt: skip
        FlowController(window, flow, [], done_seconds=1.0)
        combo = window.launch.extra_time_combo
        await launch_at_the_window(window, flow, people, "Extra time: 50% more")
        assert window.mic_check.summary_label.text() == (
            "5 questions · 7.5 s to think · up to 12 s per answer · 2 takes each"
        )
        planned = flow.state.planned
        assert planned is not None
        flow.lock()
        # The next candidate at this seat starts without it.
        flow.open_sign_in()
        await flow.sign_in(people["proctor"].email, people["proctor"].password)
        await until(lambda: window.stack.currentWidget() is window.launch)
        assert combo.currentText() == "No extra time"

    record = api.request(
        "GET", f"/api/v1/interviews/{planned.interview_id}", people["admin"]
    ).json()
    assert record["accommodation"] == "x1.5"
    assert record["accommodation_granted_by"] == str(people["proctor"].id)


@ON_QT_LOOP
async def test_an_answer_kept_while_the_link_is_down_does_not_start_the_next_clock_unseen(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    """The server asks the next question at the keep's offset, but the kiosk cannot show it
    until the link is back: nothing is recorded meanwhile, so its 30 s to think are whole
    when it appears."""
    posting = api.request("POST", "/api/v1/job-postings", people["admin"], json={
        "title": "Support Engineer", "company": "Contoso", "tech_stack": "go",
        "think_seconds": 30, "answer_seconds": 60, "takes": 2,
    }).json()  # fmt: skip
    application = api.request(
        "POST", "/api/v1/applications", people["candidate"], json={"job_posting_id": posting["id"]}
    ).json()
    backend = urlsplit(api.url)
    proxy = await CuttableProxy(str(backend.hostname), int(backend.port or 80)).start()
    try:
        async with httpx.AsyncClient() as http:
            flow = KioskFlow(
                KioskApi(http, f"http://127.0.0.1:{proxy.port}"),
                KioskConfig.from_mapping({"kiosk_id": "seat-4"}, "test"),
                tmp_path / "spool", SyntheticMic(),
            )  # fmt: skip
            flow.open_sign_in()
            await flow.sign_in(people["proctor"].email, people["proctor"].password)
            candidate = next(c for c in flow.state.candidates
                             if c.email == people["candidate"].email)  # fmt: skip
            await flow.launch(candidate)
            await flow.choose(application_id=application["id"])
            await flow.start_interview()
            streamer = flow.streamer
            assert streamer is not None
            await flow.start_answering()
            await asyncio.sleep(1.0)
            await flow.finish_answer()
            proxy.go_down()
            await until(lambda: streamer.state is StreamState.RECONNECTING, timeout=5)
            await flow.keep_answer()
            kept_at = streamer.captured_end
            await asyncio.sleep(3.0)  # the link is down for 3 s while the kiosk waits
            proxy.come_back()
            await until(lambda: flow.state.question is not None
                        and flow.state.question.index == 1, timeout=15)  # fmt: skip
            clock = flow.state.answer
            assert clock is not None and clock.phase is Phase.THINKING
            left = clock.remaining(streamer.captured_end)
            assert left is not None and left > 29.0, left  # not 27 s: the outage did not count
            assert streamer.question is not None
            assert streamer.question.asked_offset == kept_at
            await flow.finish()
    finally:
        await proxy.stop()
