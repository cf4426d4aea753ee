"""The kiosk's side of the room console: calls for the proctor (``ProctorDesk``), the seat's
report, and the control channel (``SeatControl``) applying commands once each, against a real
backend. The whole loop through a browser is tests/test_room_console_browser.py's.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.core import errors
from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.control import SeatControl, control_url
from kiosk.core.flow import KioskFlow, Screen
from kiosk.core.proctor_desk import ProctorDesk
from kiosk.core.seat_report import seat_report
from support.api import Actor, Api
from support.capture import SyntheticMic
from support.room import assign_center, enroll_kiosk

CONFIG = KioskConfig.from_mapping({"kiosk_id": "seat-9", "test_center": "Leeds"}, "test")


def test_the_desk_keeps_one_alert_per_kind_until_a_proctor_acknowledges_it() -> None:
    changes: list[int] = []
    desk = ProctorDesk(lambda: changes.append(1), clock=lambda: 1000.0)
    first = desk.call("called")
    assert desk.call("called") is first  # pressed twice: still one alert
    idle = desk.call("idle")
    assert [a.kind for a in desk.alerts] == ["called", "idle"] and desk.calling
    assert first.to_json() == {"id": first.id, "kind": "called", "raised_at": 1_000_000.0}
    desk.acknowledged(first.id)
    desk.acknowledged(first.id)  # acknowledging again changes nothing
    assert desk.alerts == [idle] and desk.coming and not desk.calling
    desk.settle("idle")
    desk.show("  Please   speak up  ")
    assert desk.message == "Please speak up" and not desk.alerts
    desk.clear()
    assert (desk.alerts, desk.message, desk.coming) == ([], None, False)
    assert len(changes) == 5  # each change once: not the repeats, not clear (the lock redraws)


def test_control_url_follows_the_backend_scheme() -> None:
    assert control_url("http://10.0.0.5:8000/", "seat-1") == "ws://10.0.0.5:8000/ws/kiosks/seat-1"
    assert control_url("https://exams.example", "s") == "wss://exams.example/ws/kiosks/s"


async def to_the_interview(flow: KioskFlow, people: dict[str, Actor]) -> None:
    flow.open_sign_in()
    await flow.sign_in(people["proctor"].email, people["proctor"].password)
    candidate = next(c for c in flow.state.candidates if c.email == people["candidate"].email)
    await flow.launch(candidate)
    await flow.choose(role_type="python")
    await flow.start_interview()


@pytest.mark.asyncio
async def test_a_command_is_applied_once_however_often_it_arrives(
    api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(KioskApi(http, api.url), CONFIG, tmp_path / "spool", SyntheticMic())
        control = SeatControl(flow, "ws://127.0.0.1:9/unused", "ikk_unused")
        await to_the_interview(flow, people)
        report = seat_report(flow)
        assert report["state"] == "thinking" and report["candidate"] == "Casey Candidate"
        assert report["posting"] == "Practice: python" and report["question_index"] == 0
        assert report["seconds_left"] == pytest.approx(30, abs=1)
        pause = {"type": "command", "id": "c-1", "action": "pause", "reason": "Fire alarm"}
        first = await control._apply(pause)
        assert first == {"type": "ack", "id": "c-1", "ok": True}
        assert flow.state.screen is Screen.PAUSED and flow.state.pause_reason == "Fire alarm"
        left = seat_report(flow)["seconds_left"]
        await asyncio.sleep(0.3)
        assert seat_report(flow)["seconds_left"] == left  # paused: the clock stands still
        # The same command again (a reconnect replayed it): the first answer, nothing redone.
        flow.state.pause_reason = "changed since"
        assert await control._apply(pause) == first
        assert flow.state.pause_reason == "changed since"
        resumed = await control._apply({"type": "command", "id": "c-2", "action": "resume"})
        assert resumed["ok"] and flow.state.screen is Screen.INTERVIEW
        assert seat_report(flow)["seconds_left"] == pytest.approx(left, abs=0.1)
        again = await control._apply({"type": "command", "id": "c-3", "action": "resume"})
        assert again["ok"]  # resuming a seat that runs is nothing to do, not an error
        unknown = await control._apply({"type": "command", "id": "c-4", "action": "reboot"})
        assert unknown == {
            "type": "ack",
            "id": "c-4",
            "ok": False,
            "detail": "seat-9: this kiosk does not know the command 'reboot'",
        }
        flow.lock()
        refused = await control._apply({"type": "command", "id": "c-5", "action": "pause",
                                        "reason": "x"})  # fmt: skip
        assert refused["detail"] == "seat-9: There is no session at this seat to pause."


@pytest.mark.asyncio
async def test_the_proctor_ends_a_session_from_the_console_and_locks_an_idle_seat(
    api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(KioskApi(http, api.url), CONFIG, tmp_path / "spool", SyntheticMic())
        control = SeatControl(flow, "ws://127.0.0.1:9/unused", "ikk_unused")
        await to_the_interview(flow, people)
        assert flow.streamer is not None
        interview_id = flow.streamer.interview_id
        refused = await control._apply({"type": "command", "id": "l", "action": "lock"})
        assert refused["detail"] == ("seat-9: A candidate's session is under way here: end it "
                                     "instead of locking.")  # fmt: skip
        await asyncio.sleep(0.5)  # something recorded
        ended = await control._apply({"type": "command", "id": "e", "action": "end"})
        assert ended["ok"] and flow.state.screen is Screen.LOCKED
        record = api.request("GET", f"/api/v1/interviews/{interview_id}", people["admin"]).json()
        assert record["status"] == "completed"
        again = await control._apply({"type": "command", "id": "e2", "action": "end"})
        assert again["detail"] == "seat-9: There is no session at this seat to end."
        flow.open_sign_in()
        await flow.sign_in(people["proctor"].email, people["proctor"].password)
        assert flow.state.screen is Screen.LAUNCH  # a proctor's sign-in left open
        locked = await control._apply({"type": "command", "id": "l2", "action": "lock"})
        assert locked["ok"] and flow.state.screen is Screen.LOCKED


@pytest.mark.asyncio
async def test_a_pause_waits_for_an_action_under_way_rather_than_failing(
    api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(KioskApi(http, api.url), CONFIG, tmp_path / "spool", SyntheticMic())
        control = SeatControl(flow, "ws://127.0.0.1:9/unused", "ikk_unused")
        await to_the_interview(flow, people)
        finishing = asyncio.create_task(flow.next_question())  # an action under way
        await asyncio.sleep(0)
        with pytest.raises(errors.Busy):
            flow.pause_for_proctor("now")
        reply = await control._apply({"type": "command", "id": "p", "action": "pause",
                                      "reason": "Noise"})  # fmt: skip
        await finishing
        assert reply["ok"] and flow.state.screen is Screen.PAUSED
        flow.lock()


@pytest.mark.asyncio
async def test_the_channel_reports_at_once_on_a_change_and_says_bye_on_quit(
    api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    settings = api.server.settings
    credential = enroll_kiosk(settings, "seat-9", "leeds")
    assign_center(settings, people["proctor"].id, "leeds")

    async def room() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=api.url) as client, client.stream(
            "GET", "/console/events", headers=people["proctor"].headers
        ) as response:  # fmt: skip
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    snapshot: dict[str, Any] = json.loads(line[6:])
                    return next(s for s in snapshot["seats"] if s["kiosk_id"] == "seat-9")
        raise AssertionError("no snapshot")

    async with httpx.AsyncClient() as http:
        flow = KioskFlow(KioskApi(http, api.url), CONFIG, tmp_path / "spool", SyntheticMic())
        control = SeatControl(flow, control_url(api.url, "seat-9"), credential)
        task = asyncio.create_task(control.run())
        try:
            deadline = time.monotonic() + 5
            while (await room())["state"] != "locked":
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # the next tick is 1.7 s away
            flow.desk.call("called")  # a change: reported at once, not at the next tick
            changed = time.monotonic()
            while (await room())["alerts"] != 1:
                assert time.monotonic() - changed < 1.0
                await asyncio.sleep(0.02)
            await control.close()
            while (await room())["state"] != "offline":  # said goodbye: offline, not missing
                assert time.monotonic() - changed < 5.0
                await asyncio.sleep(0.05)
        finally:
            task.cancel()


@pytest.mark.asyncio
async def test_extra_time_from_the_console_applies_from_the_next_question(
    api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    settings = api.server.settings
    credential = enroll_kiosk(settings, "seat-9", "leeds")
    assign_center(settings, people["proctor"].id, "leeds")
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(KioskApi(http, api.url), CONFIG, tmp_path / "spool", SyntheticMic())
        control = SeatControl(flow, control_url(api.url, "seat-9"), credential)
        task = asyncio.create_task(control.run())
        try:
            await to_the_interview(flow, people)
            first = flow.state.question
            assert first is not None and first.rules is not None
            assert (first.rules.think_seconds, first.rules.accommodation) == (30, None)
            path = "/console/seats/seat-9/extra-time"
            deadline = time.monotonic() + 5
            while True:  # until the seat's report with its interview has arrived
                granted = await asyncio.to_thread(
                    api.request, "POST", path, people["proctor"], json={"accommodation": "x1.5"}
                )
                if granted.status_code == 200 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            assert granted.status_code == 200, granted.text
            assert flow.state.question == first  # the question on screen keeps its countdown
            await flow.advance()  # start answering
            await flow.advance()  # finish: one take, kept
            deadline = time.monotonic() + 10
            while flow.state.question is None or flow.state.question.index == 0:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            second = flow.state.question
            assert second.rules is not None
            assert (second.rules.think_seconds, second.rules.accommodation) == (45, "x1.5")
        finally:
            task.cancel()
            flow.lock()


@pytest.mark.asyncio
async def test_a_refused_credential_is_said_and_tried_again_later(api: Api, tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(KioskApi(http, api.url), CONFIG, tmp_path / "spool", SyntheticMic())
        control = SeatControl(flow, control_url(api.url, "seat-9"), "ikk_" + "x" * 43)
        task = asyncio.create_task(control.run())
        try:
            deadline = time.monotonic() + 5
            while control.last_error is None:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            assert control.last_error == "the backend refused this kiosk (HTTP 401)"
            assert not control.connected and not task.done()  # the kiosk carries on
        finally:
            task.cancel()
