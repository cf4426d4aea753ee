"""The kiosk's flow as a state machine: random actions at the seat and random faults around
it, against a real backend, with the flow's rules checked after every step.

Hypothesis drives one ``KioskFlow`` (no Qt) per example through what people at a seat do (open
sign-in, sign in with the right or wrong account, search, launch, resume, choose, check the
microphone, start, next question, finish, walk away, continue or end a paused session, lock,
leave with the exit PIN, press a button of another screen, press a second one before the first
finished) and what happens around them (the next HTTP requests refused, timed out, their
replies lost or answered 500/503; every link cut; the backend unreachable for a while or
restarted; the microphone unplugged; the kiosk itself restarted).

Real: the backend (uvicorn on a thread over SQLite) over HTTP and the audio WebSocket, through
the cuttable proxy of tests/support/proxy.py; the kiosk's API client, streamer and spool on
disk. HTTP faults are injected in httpx's transport, under the kiosk's own ``KioskApi``.
Synthetic: the microphone is tests/support/capture.py's seeded ``SyntheticMic``, feeding 20 ms
blocks through the flow's capture factory (the real virtual microphone is covered end to end by
tests/test_kiosk_flow.py); the idle clock is the flow's ``clock`` parameter, so walking away
takes no time.

The test accounts' passwords are stored as argon2 hashes of the lowest cost (see
``cheap_password_hashes``): the examples sign in hundreds of times.

``make test`` runs a repeatable set of ``DEFAULT_EXAMPLES`` sequences; ``IK_FLOW_EXAMPLES``
asks for that many fresh random ones instead, and ``IK_FLOW_SHRINK=1`` shrinks a failure.
The last test shows the same rules through the real window.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import os
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from backend.app.core.config import Settings
from backend.app.models.enums import Role
from backend.app.server import BackgroundServer
from kiosk.audio.devices import InputDevice
from kiosk.core import errors
from kiosk.core.api_client import CandidateSummary, KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.errors import ApiError, AudioDeviceError, KioskError
from kiosk.core.flow import CANDIDATE_SCREENS, FlowState, KioskFlow, Screen
from kiosk.core.lockdown import hash_pin
from kiosk.core.streamer import StreamState
from kiosk.ui.controllers.flow_controller import FlowController
from kiosk.ui.views.main_window import MainWindow
from support.api import Actor, Api
from support.capture import SyntheticMic
from support.faulty_http import HTTP_FAULTS, FaultyTransport
from support.proxied_backend import ProxiedBackend
from support.qt import ON_QT_LOOP, click, until

DEFAULT_EXAMPLES = 200
LONG_RUN = "IK_FLOW_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("IK_FLOW_EXAMPLES", DEFAULT_EXAMPLES))
# A failing sequence is short (STEPS at most) and printed step by step. Shrinking replays it
# against the live backend many times over, minutes on a busy machine: only when asked.
SHRINK = os.environ.get("IK_FLOW_SHRINK") == "1"
STEPS = 10
# No action may take longer than this, faults included (an outage lasts LONG_OUTAGE at
# most, and the flow gives up on a WebSocket after READY_TIMEOUT): longer is a hang.
STEP_TIMEOUT = 30.0
READY_TIMEOUT = 0.75
# An outage lasts this long in loop time, across the steps that follow it.
LONG_OUTAGE = 1.0  # longer than READY_TIMEOUT: starting or resuming gives up
OUTAGE_SECONDS = [0.1, 0.3, LONG_OUTAGE]
CHECK_SECONDS = 0.05
PIN = "2468"

# What each screen offers (its buttons); lock, the idle timer and input are always there.
OFFERED: dict[Screen, frozenset[str]] = {
    Screen.LOCKED: frozenset({"open_sign_in", "open_exit_pin"}),
    Screen.EXIT_PIN: frozenset({"exit_with_pin"}),
    Screen.SIGN_IN: frozenset({"sign_in"}),
    Screen.LAUNCH: frozenset({"find_candidates", "launch", "resume", "exit_as_proctor"}),
    Screen.CHOOSE: frozenset({"choose"}),
    Screen.MIC_CHECK: frozenset(
        {"select_device", "check_microphone", "start_interview", "practice_answer"}
    ),
    Screen.INTERVIEW: frozenset(
        {"next_question", "advance", "try_again", "finish", "repeat_question"}
    ),
    Screen.DONE: frozenset(),
    Screen.PAUSED: frozenset({"continue_after_pause", "end_after_pause"}),
}
ACTIONS = sorted(set().union(*OFFERED.values()))
# Actions that wait on the network or the microphone: another can be pressed meanwhile.
SLOW_ACTIONS = frozenset({
    "exit_with_pin", "sign_in", "find_candidates", "launch", "resume", "choose",
    "check_microphone", "start_interview", "next_question", "finish",
    "continue_after_pause", "end_after_pause",
})  # fmt: skip
PROCTOR_SCREENS = frozenset({Screen.LAUNCH})
SEAT_SCREENS = CANDIDATE_SCREENS | {Screen.PAUSED}  # the candidate's session is held
# What a person at each screen does, the usual thing more often (repeated).
PERSON: dict[Screen, list[str]] = {
    Screen.LOCKED: ["open_sign_in", "open_sign_in", "open_sign_in", "open_exit_pin"],
    Screen.EXIT_PIN: [
        "exit_with_pin right", "exit_with_pin wrong", "exit_with_pin blank", "cancel",
    ],
    Screen.SIGN_IN: [
        "sign_in proctor", "sign_in proctor", "sign_in proctor", "sign_in wrong_password",
        "sign_in unknown", "sign_in candidate", "sign_in blank", "cancel",
    ],
    Screen.LAUNCH: [
        "launch casey", "launch casey", "launch robin", "search", "resume", "resume", "resume",
        "exit_as_proctor", "cancel",
    ],
    Screen.CHOOSE: ["choose open", "choose open", "choose closed", "choose python",
                    "choose python", "choose no-such-role", "walk_away", "call_proctor"],
    Screen.MIC_CHECK: ["check_microphone", "start_interview", "start_interview",
                       "start_interview", "select_device", "practice_answer", "walk_away",
                       "call_proctor"],
    Screen.INTERVIEW: ["advance", "advance", "advance", "next_question", "try_again", "finish",
                       "finish", "repeat_question", "repeat_question", "walk_away",
                       "call_proctor"],
    Screen.DONE: ["done_timer"],
    Screen.PAUSED: ["continue proctor", "continue proctor", "end proctor", "end proctor",
                    "continue candidate", "end wrong_password"],
}  # fmt: skip
# What happens around the seat, the cheaper things more often.
WORLD = [
    "http_fault", "http_fault", "http_fault", "cut", "cut", "outage",
    "restart_backend", "microphone", "time", "time", "walk_away", "walk_away",
    "restart_kiosk", "lock", "console_pause", "console_resume", "console_end", "console_lock",
]  # fmt: skip
STEP_KINDS = ["person"] * 4 + ["fault_then_person"] * 2 + ["world"] * 2
STEP_KINDS += ["other_screen", "in_a_hurry"]
PICKS = 720  # picks index the menus modulo their length: 720 divides evenly by most
DELAYS = [0.0, 0.005, 0.03, 0.1]  # before the interruption of a slow action
STARTS = ["locked", "launch", "choose", "mic_check", "interview", "resume", "resume"]
SEARCHES = ["", "Casey", "robin", "zz-nobody"]
DEVICES = [
    InputDevice(3, "Desk microphone", 1, 16000.0, True),
    InputDevice(5, "USB headset", 1, 48000.0, False),
]


def token_claims(token: str) -> dict[str, object]:
    """A JWT's payload, read without checking the signature (the server checks that)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def assert_plain(message: str) -> None:
    """Fit for the screen: a sentence, not an identifier, a status code or a traceback."""
    assert message and message[0].isupper() and "\n" not in message, repr(message)
    assert len(message) < 200, message
    assert not re.search(r"HTTP \d|Traceback|Error\b|assert|\bNone\b|[a-z]_[a-z]", message), message


class Clock:
    """The flow's idle clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SeatMicrophone:
    """The capture factory: ``SyntheticMic`` captures, a plug, and which captures are live."""

    def __init__(self) -> None:
        self.synthetic = SyntheticMic()
        self.plugged = True
        self.live: set[_Capture] = set()

    def __call__(self, on_block: Callable[[bytes], None], device: int | None) -> _Capture:
        return _Capture(self, self.synthetic(on_block, device))

    def devices(self) -> list[InputDevice]:
        return list(DEVICES) if self.plugged else []


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


class SeatSpeaker:
    """The seat's speaker, in loop time: a sound lasts a tenth of its length (at most 0.3 s),
    so questions are read and practice answers heard back within an example's steps."""

    def __init__(self) -> None:
        self.playing: asyncio.Future[None] | None = None
        self.sounds = 0

    async def play(self, pcm: bytes, rate: int) -> None:
        self.stop()
        self.sounds += 1
        # This play's own sound: a newer play replaces self.playing (or clears it) meanwhile.
        playing = asyncio.ensure_future(asyncio.sleep(min(len(pcm) / 2 / rate / 10, 0.3)))
        self.playing = playing
        try:
            await playing
        except asyncio.CancelledError:
            if not playing.cancelled():  # the player itself was cancelled
                raise
        finally:
            if self.playing is playing:
                self.playing = None

    def stop(self) -> None:
        if self.playing is not None:
            self.playing.cancel()


class _Capture:
    def __init__(self, mic: SeatMicrophone, inner: object) -> None:
        self._mic = mic
        self._inner = inner

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._mic.plugged:  # as MicrophoneCapture reports a missing device
            raise AudioDeviceError("the input device is not available")
        self._inner.start(loop)  # type: ignore[attr-defined]
        self._mic.live.add(self)

    def stop(self) -> None:
        self._inner.stop()  # type: ignore[attr-defined]
        self._mic.live.discard(self)


@dataclass
class Seat:
    """What every example shares: the backend, the kiosk's HTTP client and the accounts."""

    loop: asyncio.AbstractEventLoop
    backend: ProxiedBackend
    transport: FaultyTransport
    api: KioskApi
    config: KioskConfig
    admin: Actor
    proctor: Actor
    decoy: Actor  # a proctor only ever given wrong passwords (the throttle may lock it)
    candidates: dict[str, Actor]
    summaries: dict[str, CandidateSummary]
    applications: dict[str, str]  # "open" / "closed" -> Casey's application id
    spool_root: Path
    examples: int = 0
    # What the examples got to, printed at the end: a machine that never reaches the
    # interview proves little about it.
    starts: Counter[str] = field(default_factory=Counter)
    reached: Counter[str] = field(default_factory=Counter)
    succeeded: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # "action: message"


class FlowMachine(RuleBasedStateMachine):
    def __init__(self, seat: Seat) -> None:
        super().__init__()
        seat.examples += 1
        self.seat = seat
        self.loop = seat.loop
        self.clock = Clock()
        self.mic = SeatMicrophone()
        self.speaker = SeatSpeaker()
        self.spool_dir = seat.spool_root / f"seat-{seat.examples}"
        self.loop_errors: list[dict[str, object]] = []
        self.loop.set_exception_handler(lambda _loop, context: self.loop_errors.append(context))
        self.flow = self._new_flow()

    def _new_flow(self) -> KioskFlow:
        flow = KioskFlow(
            self.seat.api, self.seat.config, self.spool_dir, self.mic, self.mic.devices, self.clock,
            speaker=self.speaker,
        )  # fmt: skip
        flow.ready_timeout_seconds = READY_TIMEOUT  # type: ignore[attr-defined]
        return flow

    # --- running actions -----------------------------------------------------------------------

    @property
    def screen(self) -> Screen:
        return self.flow.state.screen

    def run(self, name: str, action: Callable[[], object]) -> None:
        async def step() -> None:
            result = action()
            if inspect.isawaitable(result):
                await result

        try:
            self.loop.run_until_complete(asyncio.wait_for(step(), STEP_TIMEOUT))
        except TimeoutError:
            raise AssertionError(f"{name} did not finish within {STEP_TIMEOUT} s") from None

    def held(self) -> tuple[Screen, str | None, object]:
        """The screen and the credentials the flow holds in memory."""
        return self.screen, self.flow._proctor_token, self.flow._session

    def act(self, name: str, action: Callable[[], object]) -> KioskError | None:
        """One action as a controller runs it. A refusal or failure must be a documented
        ``KioskError`` with a message fit for the screen, and leave the screen and the
        credentials as they were."""
        before = self.held()
        try:
            self.run(name, action)
        except KioskError as exc:
            self.check_error(exc)
            self.seat.refused[f"{name}: {exc}"] += 1
            assert self.held() == before, f"{name} failed ({exc}) but moved the flow on"
            return exc
        finally:
            self.after_exit()
        self.seat.succeeded[name] += 1
        return None

    def check_error(self, exc: KioskError) -> None:
        assert type(exc).__module__ == errors.__name__, f"undocumented {type(exc)!r}"
        assert_plain(str(exc))

    def after_exit(self) -> None:
        """Leaving kiosk mode quits the app: nothing may be held, and the kiosk starts again."""
        if self.flow.state.exit_requested:
            assert self.flow._proctor_token is None and self.flow._session is None
            assert not self.mic.live
            self.restart_kiosk_now()

    def call(self, name: str) -> Callable[[], object]:
        """What pressing ``name`` does, with what the screen would pass."""
        f, seat = self.flow, self.seat
        proctor = seat.proctor
        resumable = f.state.resumable
        return {
            "open_sign_in": f.open_sign_in,
            "open_exit_pin": f.open_exit_pin,
            "exit_with_pin": lambda: f.exit_with_pin(PIN),
            "sign_in": lambda: f.sign_in(proctor.email, proctor.password),
            "find_candidates": lambda: f.find_candidates(""),
            "launch": lambda: f.launch(seat.summaries["casey"]),
            "resume": lambda: f.resume(resumable[0]) if resumable else None,
            "exit_as_proctor": f.exit_as_proctor,
            "choose": lambda: f.choose(role_type="python"),
            "select_device": lambda: f.select_device(DEVICES[1].index),
            "check_microphone": lambda: f.check_microphone(CHECK_SECONDS),
            "start_interview": f.start_interview,
            "next_question": f.next_question,
            "advance": f.advance,
            "try_again": f.try_again,
            "finish": f.finish,
            "practice_answer": f.practice_answer,
            "repeat_question": f.repeat_question,
            "continue_after_pause": lambda: f.continue_after_pause(proctor.email, proctor.password),
            "end_after_pause": lambda: f.end_after_pause(proctor.email, proctor.password),
        }[name]

    def server_status(self, interview_id: str) -> str:
        """The interview's status as an admin sees it, straight from the backend (no faults)."""
        seat = self.seat

        async def ask() -> str:
            async with httpx.AsyncClient() as http:
                api = KioskApi(http, seat.backend.server.url)
                progress = await api.interview_progress(seat.admin.token, interview_id)
                return progress.status

        return self.loop.run_until_complete(ask())

    def credentials(self, who: str) -> tuple[str, str]:
        seat = self.seat
        if who == "proctor":
            return seat.proctor.email, seat.proctor.password
        if who == "wrong_password":
            return seat.decoy.email, "not-the-password"
        if who == "unknown":
            return f"nobody-{uuid.uuid4().hex[:8]}@example.com", "whatever-it-is"
        if who == "candidate":
            return seat.candidates["casey"].email, seat.candidates["casey"].password
        return "", ""

    # --- the example's start ------------------------------------------------------------------

    @initialize(start=st.sampled_from(STARTS))
    def begin(self, start: str) -> None:
        """Start somewhere along the way, so short sequences reach every screen. The way
        there is the flow's own; a failure on it just starts the example earlier."""
        self.seat.starts[start] += 1
        if start == "locked":
            return
        if start == "resume":  # an interview a crash interrupted, offered after sign-in
            self.walk_to("interview")
            self.run("wait", lambda: asyncio.sleep(0.1))
            self.restart_kiosk_now()
        self.walk_to("launch" if start == "resume" else start)

    def walk_to(self, screen: str) -> None:
        f, seat = self.flow, self.seat
        path: list[tuple[str, Callable[[], object]]] = [
            ("open_sign_in", f.open_sign_in),
            ("sign_in", lambda: f.sign_in(seat.proctor.email, seat.proctor.password)),
            ("launch", lambda: f.launch(seat.summaries["casey"])),
            ("choose", lambda: f.choose(application_id=seat.applications["open"])),
            ("start_interview", f.start_interview),
        ]
        stops = {"launch": 2, "choose": 3, "mic_check": 4, "interview": 5}
        for name, action in path[: stops[screen]]:
            if self.act(name, action) is not None:
                return

    # --- the steps -----------------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(STEP_KINDS),
        pick=st.integers(0, PICKS - 1),
        detail=st.integers(0, PICKS - 1),
        delay=st.sampled_from(DELAYS),
    )
    def step(self, kind: str, pick: int, detail: int, delay: float) -> None:
        """Mostly the person at the seat; sometimes the world around it; now and then a
        button of another screen, or a second press before the first action finished.

        Every step draws the same shape of data and picks from the screen's menu by index:
        what the flow did (a timing, a race) then never changes what is drawn, and a failing
        sequence replays as drawn. ``note`` says what each step did.
        """
        if kind in ("person", "fault_then_person"):
            menu = [c for c in PERSON[self.screen] if c != "resume" or self.flow.state.resumable]
            choice = menu[pick % len(menu)]
            if kind == "fault_then_person":  # one of the action's own requests fails
                if choice in ("start_interview", "resume") and detail % 3 == 0:
                    self.world("outage", OUTAGE_SECONDS.index(LONG_OUTAGE))  # the stream's
                else:
                    self.world("http_fault", detail % (len(HTTP_FAULTS) * 3))
            self.say(f"person at {self.screen}: {choice}")
            self.person(choice)
        elif kind == "world":
            self.world(WORLD[pick % len(WORLD)], detail)
        elif kind == "other_screen":
            self.say(f"at {self.screen}, presses {ACTIONS[pick % len(ACTIONS)]}")
            self.other_screen(ACTIONS[pick % len(ACTIONS)])
        else:
            self.in_a_hurry(pick, detail, delay)

    def say(self, what: str) -> None:
        note(f"  {what}")

    def person(self, choice: str) -> None:
        f, seat = self.flow, self.seat
        name, _, detail = choice.partition(" ")
        if name in ("cancel", "done_timer"):  # a Cancel button, or the done screen's timer
            self.lock()
        elif name == "walk_away":
            self.walk_away()
        elif name == "open_sign_in":
            self.act(name, f.open_sign_in)
            assert self.screen is Screen.SIGN_IN
        elif name == "open_exit_pin":
            self.act(name, f.open_exit_pin)
            assert self.screen is Screen.EXIT_PIN
        elif name == "exit_with_pin":
            pin = {"right": PIN, "wrong": "1357", "blank": ""}[detail]
            error = self.act(name, lambda: f.exit_with_pin(pin))
            assert (error is None) == (pin == PIN), error
        elif name == "exit_as_proctor":
            self.act(name, f.exit_as_proctor)
        elif name == "sign_in":
            email, password = self.credentials(detail)
            error = self.act(name, lambda: f.sign_in(email, password))
            assert detail == "proctor" or error is not None, f"signed in as {detail}"
        elif name == "search":
            self.search()
        elif name == "launch":
            listed = [c for c in f.state.candidates if c.email == seat.summaries[detail].email]
            candidate = listed[0] if listed else seat.summaries[detail]
            if self.act(name, lambda: f.launch(candidate)) is None:
                assert self.screen is Screen.CHOOSE
                assert f.state.candidate == seat.summaries[detail]
        elif name == "resume":
            item = f.state.resumable[0]
            if self.act(name, lambda: f.resume(item)) is None:
                assert self.screen is Screen.INTERVIEW
                question = f.state.question  # the server's current one: where it stopped
                assert question is None or question.index == item.progress.question_index
        elif name == "choose":
            self.choose(detail)
        elif name == "select_device":
            device = DEVICES[seat.examples % len(DEVICES)]
            self.act(name, lambda: f.select_device(device.index))
        elif name == "check_microphone":
            if self.act(name, lambda: f.check_microphone(CHECK_SECONDS)) is None:
                assert f.state.mic_result is not None
        elif name == "start_interview":
            if self.act(name, f.start_interview) is None:
                assert self.screen is Screen.INTERVIEW and f.state.question is not None
        elif name == "next_question":
            before = f.state.question
            if self.act(name, f.next_question) is None and before is not None:
                after = f.state.question
                assert after is None or after.index > before.index, (before, after)
        elif name in ("advance", "try_again"):
            # The question's clock moves one step (think, answer, keep), or the question does.
            before = (f.state.question, f.state.answer.phase if f.state.answer else None)
            if self.act(name, self.call(name)) is None:
                after = (f.state.question, f.state.answer.phase if f.state.answer else None)
                assert after != before, (name, before, after)
        elif name == "practice_answer":
            if f.state.mic_result is None:  # offered after the check: a person checks first
                self.act("check_microphone", lambda: f.check_microphone(CHECK_SECONDS))
                if self.screen is not Screen.MIC_CHECK:
                    return
            before = f.practice.phase if f.practice else None
            if self.act(name, f.practice_answer) is None:
                assert f.practice is not None and f.practice.phase != before
        elif name == "repeat_question":
            if self.act(name, f.repeat_question) is None:
                assert f.reader is not None and f.reader.reading
                # Nothing is recorded while the question is read: its time to think waits.
                streamer = f.streamer
                assert streamer is not None
                captured = streamer.captured_end
                self.run("listen", lambda: asyncio.sleep(0.05))
                if f.reader.reading and f.state.screen is Screen.INTERVIEW:
                    assert streamer.captured_end == captured
        elif name == "finish":
            interview_id = f.streamer.interview_id if f.streamer else ""
            if self.act(name, f.finish) is None:
                assert self.screen is Screen.DONE
                assert self.server_status(interview_id) == "completed"
        elif name in ("continue", "end"):
            self.proctor_at_paused(name, detail)
        elif name == "call_proctor":
            if self.act(name, f.call_proctor) is None:
                assert f.desk.calling and len(f.desk.alerts) <= 2  # one per kind, never more
        else:
            raise AssertionError(f"no such choice {choice!r}")

    def search(self) -> None:
        query = SEARCHES[self.seat.examples % len(SEARCHES)]
        if self.act("find_candidates", lambda: self.flow.find_candidates(query)) is None:
            emails = {c.email for c in self.flow.state.candidates}
            if query == "zz-nobody":
                assert not emails
            elif query == "Casey":
                assert self.seat.candidates["casey"].email in emails

    def choose(self, choice: str) -> None:
        f = self.flow
        if choice in self.seat.applications:
            application_id = self.seat.applications[choice]
            error = self.act("choose", lambda: f.choose(application_id=application_id))
        else:
            error = self.act("choose", lambda: f.choose(role_type=choice))
        if error is None:
            assert self.screen is Screen.MIC_CHECK and f.state.planned is not None
        else:
            assert choice != "open" or isinstance(error, ApiError), error

    def proctor_at_paused(self, how: str, who: str) -> None:
        f = self.flow
        email, password = self.credentials(who)
        if how == "end":
            error = self.act("end_after_pause", lambda: f.end_after_pause(email, password))
        else:
            error = self.act(
                "continue_after_pause", lambda: f.continue_after_pause(email, password)
            )
        assert who == "proctor" or error is not None, f"{who} let in at the paused screen"
        if error is None and how == "end":
            assert self.screen is Screen.LOCKED

    def lock(self) -> None:
        """Locked is reachable from anywhere, and forgets everything."""
        self.run("lock", self.flow.lock)
        assert self.flow.state == FlowState()
        assert not self.flow.desk.alerts and self.flow.desk.message is None
        assert self.flow._proctor_token is None and self.flow._session is None
        assert not self.mic.live

    def walk_away(self) -> None:
        """No input for ``idle_seconds``; the controller's timer asks the flow."""
        reader = self.flow.reader
        if reader is not None and reader.reading:
            # Listening to the question is being there: the kiosk pauses only after it.
            self.clock.now += self.flow.idle_seconds + 1
            reading_then: list[bool] = []

            def check_idle() -> bool:
                # Seen in the same turn of the loop as the check: the reading may have stopped
                # just before it (its audio's fetch failed), and then pausing is right.
                reading_then.append(reader.reading)
                return self.flow.check_idle()

            self.run("check_idle", check_idle)
            if reading_then != [True]:
                assert self.screen is Screen.PAUSED, "not paused once the reading had stopped"
                return
            assert self.screen is Screen.INTERVIEW, "paused while the question was read"
            self.run("listen", lambda: _until(lambda: not reader.reading, 3.0))
        screen = self.screen
        self.clock.now += self.flow.idle_seconds + 1
        self.run("check_idle", self.flow.check_idle)
        if screen in CANDIDATE_SCREENS:
            assert self.screen is Screen.PAUSED and self.flow.state.paused_from is screen
        else:
            assert self.screen is screen

    def other_screen(self, name: str) -> None:
        """What a screen does not offer is refused with a plain error and changes nothing."""
        if name == "resume" and not self.flow.state.resumable:
            return  # the button is hidden: nothing to resume
        offered = name in OFFERED[self.screen]
        error = self.act(name, self.call(name))
        if not offered:
            assert isinstance(error, errors.WrongScreen), f"{name} on another screen: {error!r}"

    def in_a_hurry(self, pick: int, detail: int, delay: float) -> None:
        """A slow action, and meanwhile: the lock, the idle timer, or another button."""
        offered = sorted(OFFERED[self.screen] & SLOW_ACTIONS)
        if not self.flow.state.resumable and "resume" in offered:
            offered.remove("resume")
        if not offered:
            return
        name = offered[pick % len(offered)]
        choices = ["lock", "walk_away", *offered]
        meanwhile = choices[detail % len(choices)]
        self.say(f"at {self.screen}: {name}, and {delay} s later {meanwhile}")
        first = self.loop.create_task(self._settled(name, self.call(name)))
        self.run("wait", lambda: asyncio.sleep(delay))
        if meanwhile == "lock":
            self.run("lock", self.flow.lock)
        elif meanwhile == "walk_away":
            self.clock.now += self.flow.idle_seconds + 1
            self.run("check_idle", self.flow.check_idle)
        else:
            self.run(meanwhile, lambda: self._settled(meanwhile, self.call(meanwhile)))
        self.run(name, lambda: first)
        if meanwhile == "lock":
            # Whatever the first action got to, the lock holds.
            assert self.screen is Screen.LOCKED, f"{name} finished after the lock: {self.screen}"
            assert self.flow._proctor_token is None and self.flow._session is None
            assert not self.mic.live
        self.after_exit()

    async def _settled(self, name: str, action: Callable[[], object]) -> None:
        """Run ``action``; a documented ``KioskError`` is its answer, anything else fails."""
        try:
            result = action()
            if inspect.isawaitable(result):
                await result
        except KioskError as exc:
            self.check_error(exc)

    def world(self, event: str, detail: int) -> None:
        seat = self.seat
        self.say(f"at {self.screen}, the world: {event}")
        if event == "http_fault":
            fault = HTTP_FAULTS[detail % len(HTTP_FAULTS)]
            after = detail // len(HTTP_FAULTS) % 4
            self.say(f"    request {after + 1} from now: {fault}")
            seat.transport.fail(fault, after)
        elif event == "cut":
            seat.backend.cut()
        elif event == "outage":
            seconds = OUTAGE_SECONDS[detail % len(OUTAGE_SECONDS)]
            self.say(f"    for {seconds} s")
            self.run("outage", lambda: seat.backend.down_for(seconds))
        elif event == "restart_backend":
            self.run("restart", seat.backend.restart)
        elif event == "microphone":
            self.mic.plugged = not self.mic.plugged
        elif event == "time":
            self.run("wait", lambda: asyncio.sleep(0.1))
        elif event == "walk_away":
            self.walk_away()
        elif event == "restart_kiosk":
            self.restart_kiosk_now()
        elif event == "lock":
            self.lock()
        elif event == "console_pause":
            self.console_pause()
        elif event == "console_resume":
            self.console_resume()
        elif event == "console_end":
            self.console_end()
        elif event == "console_lock":
            before = self.screen
            error = self.act("lock_for_proctor", self.flow.lock_for_proctor)
            assert (error is None) == (before not in SEAT_SCREENS), (before, error)
            if error is None:
                assert self.flow.state == FlowState() and not self.mic.live
        else:
            raise AssertionError(f"no such event {event!r}")

    def console_pause(self) -> None:
        """The proctor pauses this seat from the room console (its control channel)."""
        f, before = self.flow, self.screen
        error = self.act("pause_for_proctor", lambda: f.pause_for_proctor("Fire alarm"))
        if error is None:
            assert before in SEAT_SCREENS, f"paused from {before}"
            assert self.screen is Screen.PAUSED and f.state.pause_reason == "Fire alarm"
            assert before is Screen.PAUSED or f.state.paused_from is before
            assert not self.mic.live, "the microphone still records while paused"
        else:
            assert before not in SEAT_SCREENS or isinstance(error, errors.Busy), error

    def console_end(self) -> None:
        """The proctor ends this seat's session from the console: completed, then locked."""
        f, before = self.flow, self.screen
        interview_id = f.streamer.interview_id if f.streamer else None
        error = self.act("end_for_proctor", f.end_for_proctor)
        if error is None:
            assert before in SEAT_SCREENS and self.screen is Screen.LOCKED
            assert f._session is None and not self.mic.live
            if interview_id is not None:
                # Ended, or (the link was down when it tried) kept in the spool for a resume.
                kept = (self.spool_dir / f"{interview_id}.json").exists()
                assert kept or self.server_status(interview_id) == "completed"
        else:
            assert before not in SEAT_SCREENS or isinstance(error, errors.Busy), error

    def console_resume(self) -> None:
        """The proctor resumes this seat from the console: back where the candidate was."""
        f, before, was = self.flow, self.screen, self.flow.state.paused_from
        error = self.act("resume_for_proctor", f.resume_for_proctor)
        if error is None:
            assert before in SEAT_SCREENS, f"resumed from {before}"
            assert self.screen is (was if before is Screen.PAUSED else before)
            assert f.state.pause_reason is None and f.state.paused_from is None
        else:
            assert before is not Screen.PAUSED or not isinstance(error, errors.WrongScreen)

    def restart_kiosk_now(self) -> None:
        """The kiosk process dies and starts again: only the spool on disk remains."""
        # The process is gone: capture and stream stop with it, with no goodbye to the
        # server, exactly what lock() does; the spool stays on disk.
        self.run("crash", self.flow.lock)
        self.flow = self._new_flow()

    # --- the rules -----------------------------------------------------------------------------

    @invariant()
    def one_screen_and_its_credentials(self) -> None:
        flow, state = self.flow, self.flow.state
        screen = state.screen
        assert isinstance(screen, Screen)
        self.seat.reached[screen] += 1
        proctor_token, session = flow._proctor_token, flow._session
        if screen in PROCTOR_SCREENS:
            assert proctor_token is not None, f"{screen} without the proctor's token"
            claims = token_claims(proctor_token)
            assert claims["kind"] == "access" and claims["sub"] == str(self.seat.proctor.id)
            assert session is None
        else:
            assert proctor_token is None, f"the proctor's token is held on {screen}"
        if screen in SEAT_SCREENS:
            assert session is not None, f"{screen} without the candidate's session"
            claims = token_claims(session.token)
            assert claims["kind"] == "session" and claims["sub"] == session.candidate.id
            assert not state.candidates and not state.resumable, "proctor's lists left behind"
        else:
            assert session is None, f"the candidate's session is held on {screen}"
        if screen is Screen.LOCKED:
            assert state == FlowState()
        if screen is Screen.PAUSED:
            assert state.paused_from in CANDIDATE_SCREENS
        else:
            assert state.paused_from is None
        if screen is Screen.MIC_CHECK:
            assert state.planned is not None
        if screen is Screen.INTERVIEW:
            assert flow.streamer is not None and flow._stream_task is not None
            task = flow._stream_task
            if task.done():  # the stream may fail for good, but only ever with a reason
                assert not task.cancelled() and task.exception() is None
                assert flow.streamer.state in (StreamState.FAILED, StreamState.COMPLETED)

    @invariant()
    def microphone_only_where_it_is_used(self) -> None:
        assert len(self.mic.live) <= 1, "two captures at once"
        if self.mic.live:
            assert self.screen in (Screen.MIC_CHECK, Screen.INTERVIEW), (
                f"the microphone is on at {self.screen}"
            )

    @invariant()
    def sound_only_where_it_is_heard(self) -> None:
        """The speaker reads a question on the interview screen and plays a practice answer
        back on the check screen; anywhere else it is silent."""
        practice, reader = self.flow.practice, self.flow.reader
        if self.speaker.playing is not None and not self.speaker.playing.done():
            assert self.screen in (Screen.MIC_CHECK, Screen.INTERVIEW), self.screen
        if self.screen is not Screen.MIC_CHECK:
            assert practice is None or practice.phase == "ready", practice and practice.phase
        if reader is not None and reader.reading:
            assert self.screen is Screen.INTERVIEW, self.screen

    @invariant()
    def nothing_fails_unseen(self) -> None:
        assert not self.loop_errors, self.loop_errors

    def teardown(self) -> None:
        try:
            self.run("lock", self.flow.lock)
            assert self.flow.state == FlowState() and not self.mic.live
            self.run("settle", lambda: asyncio.sleep(0.02))
        finally:
            self.seat.transport.clear()
            self.seat.backend.up()
            self.loop.set_exception_handler(None)


def cheap_password_hashes(settings: Settings, actors: list[Actor]) -> None:
    """Store these accounts' passwords as argon2 hashes of the lowest cost.

    The server checks a password at the cost its stored hash names: ~50 ms of CPU by design,
    ~200 ms on a busy test machine, and the examples sign in hundreds of times. The check is
    the server's own; only the work factor is shrunk, as time is in other tests.
    """
    from argon2 import PasswordHasher
    from sqlalchemy import update

    from backend.app.core.db import create_engine, create_sessionmaker
    from backend.app.models import User

    cheap = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)

    async def store() -> None:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                for actor in actors:
                    await session.execute(
                        update(User)
                        .where(User.id == actor.id)
                        .values(password_hash=cheap.hash(actor.password))
                    )
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(store())


@pytest.fixture
def seat(api: Api, people: dict[str, Actor], backend_server: BackgroundServer) -> Iterator[Seat]:
    admin, proctor = people["admin"], people["proctor"]
    casey = people["candidate"]
    robin = api.make_user(Role.CANDIDATE, "Robin Reed")
    decoy = api.make_user(Role.PROCTOR, "Dee Decoy")
    applications = {}
    for state in ("open", "closed"):
        posting = api.request("POST", "/api/v1/job-postings", admin, json={
            "title": f"Platform Engineer ({state})", "company": "Northwind",
            "tech_stack": ["Kubernetes"], "required_skills": ["kubernetes"],
        }).json()  # fmt: skip
        application = api.request(
            "POST", "/api/v1/applications", casey, json={"job_posting_id": posting["id"]}
        )
        assert application.status_code == 201, application.text
        applications[state] = application.json()["id"]
        if state == "closed":
            closed = api.request(
                "PATCH", f"/api/v1/job-postings/{posting['id']}", admin, json={"status": "closed"}
            )
            assert closed.status_code == 200, closed.text
    cheap_password_hashes(backend_server.settings, [proctor, decoy, casey, robin])
    loop = asyncio.new_event_loop()
    backend = loop.run_until_complete(ProxiedBackend(backend_server).start())
    transport = FaultyTransport()
    http = httpx.AsyncClient(transport=transport)
    spool_root = backend_server.settings.data_dir / "kiosk-spools"
    try:
        yield Seat(
            loop=loop,
            backend=backend,
            transport=transport,
            api=KioskApi(http, backend.url),
            config=KioskConfig.from_mapping(
                {"kiosk_id": "seat-7", "exit_pin_hash": hash_pin(PIN)}, "test"
            ),
            admin=admin,
            proctor=proctor,
            decoy=decoy,
            candidates={"casey": casey, "robin": robin},
            summaries={
                name: CandidateSummary(str(actor.id), name_, actor.email)
                for name, actor, name_ in (
                    ("casey", casey, "Casey Candidate"),
                    ("robin", robin, "Robin Reed"),
                )
            },
            applications=applications,
            spool_root=spool_root,
        )
    finally:
        loop.run_until_complete(http.aclose())
        loop.run_until_complete(backend.stop())
        # Streams cancelled by a lock may still be closing their sockets.
        loop.run_until_complete(_cancel_leftovers())
        loop.close()
        shutil.rmtree(spool_root, ignore_errors=True)


async def _cancel_leftovers() -> None:
    leftovers = asyncio.all_tasks() - {asyncio.current_task()}
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


@pytest.mark.slow
@pytest.mark.timeout(max(900, 3 * EXAMPLES))
def test_the_flow_keeps_its_rules_through_random_actions_and_faults(seat: Seat) -> None:
    run_state_machine_as_test(
        lambda: FlowMachine(seat),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=not LONG_RUN,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] * SHRINK)],
        ),
    )
    print(
        f"flow machine: {seat.examples} sequences, {seat.transport.injected} HTTP faults, "
        f"{seat.backend.proxy.cuts} cuts, {seat.backend.restarts} backend restarts\n"
        f"  starts: {dict(seat.starts)}\n"
        f"  steps ending on each screen: {dict(seat.reached)}\n"
        f"  actions that succeeded: {dict(seat.succeeded)}\n"
        f"  refusals: {dict(seat.refused)}"
    )
    # The speaker's actions were really taken, not only refused.
    assert seat.succeeded["repeat_question"] > 0 and seat.succeeded["practice_answer"] > 0


@pytest.mark.qt_window
@ON_QT_LOOP
async def test_a_launch_failing_half_way_says_why_on_screen_and_can_be_tried_again(
    qtbot: object, api: Api, people: dict[str, Actor], tmp_path: Path
) -> None:
    """What the machine checks of the flow, seen through the window: the message as it is,
    no traceback, the launch screen and its buttons as they were."""
    transport = FaultyTransport()
    window = MainWindow("seat-7", "Leeds")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    config = KioskConfig.from_mapping({"kiosk_id": "seat-7"}, "test")
    async with httpx.AsyncClient(transport=transport) as http:
        flow = KioskFlow(KioskApi(http, api.url), config, tmp_path / "spool", SyntheticMic())
        FlowController(window, flow, ["python"])
        flow.open_sign_in()
        await flow.sign_in(people["proctor"].email, people["proctor"].password)
        emails = [c.email for c in flow.state.candidates]
        window.launch.candidate_list.setCurrentRow(emails.index(people["candidate"].email))
        transport.fail("refused", after=1)  # the session is issued, its applications are not
        click(window.launch.launch_button)
        await until(lambda: window.launch.message_label.text() != "")
        assert window.launch.message_label.text() == (
            "The interview server cannot be reached. Try again."
        )
        assert flow.state.screen is Screen.LAUNCH
        assert window.stack.currentWidget() is window.launch
        click(window.launch.launch_button)  # enabled again, and the proctor still signed in
        await until(lambda: flow.state.screen is Screen.CHOOSE)
        assert window.stack.currentWidget() is window.choose
