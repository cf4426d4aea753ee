"""The kiosk's flow, one screen at a time, with no Qt (docs: README "The kiosk").

LOCKED -> SIGN_IN -> LAUNCH -> CHOOSE -> MIC_CHECK -> INTERVIEW -> DONE -> LOCKED

Controllers call these coroutines and redraw from ``state`` whenever ``changed`` fires.
A failure is a ``KioskError`` whose message is shown as it is; the flow stays on its screen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from kiosk import __version__
from kiosk.core.api_client import (
    ApplicationSummary,
    CandidateSession,
    CandidateSummary,
    KioskApi,
    PlannedInterview,
)
from kiosk.core.config import KioskConfig
from kiosk.core.errors import KioskError
from kiosk.core.lockdown import pin_matches
from kiosk.core.mic_check import MicCheckResult, analyse, block_dbfs
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer, Question, StreamState

# A spoken answer takes about two minutes: what "about M minutes" is based on.
MINUTES_PER_QUESTION = 2
MIC_CHECK_SECONDS = 5.0
# The backend's role types (resources/role_mappings.toml) offered for practice.
PRACTICE_ROLES = [
    "python", "javascript", "typescript", "react", "nodejs", "java", "go", "rust", "php",
    "fullstack", "data_engineering", "devops", "qa_automation", "sales", "support",
    "product", "design", "marketing", "operations", "management",
]  # fmt: skip


class Screen(StrEnum):
    LOCKED = "locked"
    SIGN_IN = "sign_in"
    LAUNCH = "launch"
    CHOOSE = "choose"
    MIC_CHECK = "mic_check"
    INTERVIEW = "interview"
    DONE = "done"
    EXIT_PIN = "exit_pin"


class Capture(Protocol):
    """The microphone, as the flow needs it (``kiosk.audio.capture.MicrophoneCapture``)."""

    def start(self, loop: asyncio.AbstractEventLoop) -> None: ...

    def stop(self) -> None: ...


CaptureFactory = Callable[[Callable[[bytes], None]], Capture]


@dataclass
class FlowState:
    screen: Screen = Screen.LOCKED
    candidates: list[CandidateSummary] = field(default_factory=list)
    candidate: CandidateSummary | None = None
    applications: list[ApplicationSummary] = field(default_factory=list)
    planned: PlannedInterview | None = None
    mic_level_dbfs: float = -120.0
    mic_result: MicCheckResult | None = None
    question: Question | None = None
    questions_complete: bool = False
    duration_seconds: float = 0.0
    exit_requested: bool = False


class KioskFlow:
    def __init__(
        self,
        api: KioskApi,
        config: KioskConfig,
        spool_dir: Path,
        capture_factory: CaptureFactory,
    ) -> None:
        self._api = api
        self._config = config
        self._spool_dir = spool_dir
        self._capture_factory = capture_factory
        self.state = FlowState()
        self._listeners: list[Callable[[], None]] = []
        self._proctor_token: str | None = None
        self._session: CandidateSession | None = None
        self._capture: Capture | None = None
        self._check_blocks: list[bytes] | None = None
        self.streamer: AudioStreamer | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._started_at = 0.0

    # --- observing -----------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _go(self, screen: Screen) -> None:
        self.state.screen = screen
        self._changed()

    def _require(self, *screens: Screen) -> None:
        if self.state.screen not in screens:
            raise KioskError(f"not possible on the {self.state.screen} screen")

    # --- leaving kiosk mode: a proctor, or the exit PIN -----------------------------------------

    def open_exit_pin(self) -> None:
        self._require(Screen.LOCKED)
        self._go(Screen.EXIT_PIN)

    async def exit_with_pin(self, pin: str) -> None:
        self._require(Screen.EXIT_PIN)
        if not self._config.exit_pin_hash:
            raise KioskError("No exit PIN is set for this kiosk. A proctor must sign in.")
        if not await pin_matches(self._config.exit_pin_hash, pin):
            raise KioskError("Wrong PIN.")
        self._request_exit()

    def exit_as_proctor(self) -> None:
        self._require(Screen.LAUNCH)
        self._request_exit()

    def _request_exit(self) -> None:
        self._proctor_token = None
        self.state.exit_requested = True
        self._changed()

    # --- locked, sign-in, launch ---------------------------------------------------------------

    def open_sign_in(self) -> None:
        self._require(Screen.LOCKED)
        self._go(Screen.SIGN_IN)

    async def sign_in(self, email: str, password: str) -> None:
        self._require(Screen.SIGN_IN)
        if not email.strip() or not password:
            raise KioskError("Enter your email and password.")
        self._proctor_token = await self._api.sign_in(email.strip(), password)
        self.state.candidates = await self._api.find_candidates(self._proctor_token, "")
        self._go(Screen.LAUNCH)

    async def find_candidates(self, query: str) -> None:
        self._require(Screen.LAUNCH)
        assert self._proctor_token is not None
        self.state.candidates = await self._api.find_candidates(self._proctor_token, query)
        self._changed()

    async def launch(self, candidate: CandidateSummary) -> None:
        """Hand the kiosk to the candidate: the proctor's token is dropped from memory."""
        self._require(Screen.LAUNCH)
        assert self._proctor_token is not None
        self._session = await self._api.launch_session(
            self._proctor_token, candidate.email, self._config.kiosk_id
        )
        self._proctor_token = None
        self.state.candidate = self._session.candidate
        self.state.applications = await self._api.applications(self._session.token)
        self._go(Screen.CHOOSE)

    # --- choosing, checking the microphone -----------------------------------------------------

    async def choose(self, application_id: str | None = None, role_type: str | None = None) -> None:
        self._require(Screen.CHOOSE)
        assert self._session is not None
        if role_type is not None and not self._config.allow_practice:
            raise KioskError("Practice interviews are not offered at this kiosk.")
        self.state.planned = await self._api.plan(self._session.token, application_id, role_type)
        self.state.mic_result = None
        self._go(Screen.MIC_CHECK)
        self._start_capture(self._on_check_block)

    @property
    def plan_summary(self) -> str:
        planned = self.state.planned
        if planned is None:
            return ""
        minutes = planned.question_count * MINUTES_PER_QUESTION
        return f"{planned.question_count} questions, about {minutes} minutes"

    def _start_capture(self, on_block: Callable[[bytes], None]) -> None:
        self._stop_capture()
        self._capture = self._capture_factory(on_block)
        self._capture.start(asyncio.get_running_loop())

    def _stop_capture(self) -> None:
        if self._capture is not None:
            self._capture.stop()
            self._capture = None

    def _on_check_block(self, block: bytes) -> None:
        self.state.mic_level_dbfs = block_dbfs(block)
        if self._check_blocks is not None:
            self._check_blocks.append(block)
        self._changed()

    async def check_microphone(self, seconds: float = MIC_CHECK_SECONDS) -> MicCheckResult:
        self._require(Screen.MIC_CHECK)
        self._check_blocks = []
        try:
            await asyncio.sleep(seconds)
            result = analyse(self._check_blocks)
        finally:
            self._check_blocks = None
        self.state.mic_result = result
        self._changed()
        # Kept with the interview, so a reviewer can see the seat was checked.
        assert self._session is not None and self.state.planned is not None
        await self._api.record_preflight(
            self._session.token, self.state.planned.interview_id, result.as_json()
        )
        return result

    # --- the interview ---------------------------------------------------------------------------

    async def start_interview(self) -> None:
        self._require(Screen.MIC_CHECK)
        assert self._session is not None and self.state.planned is not None
        planned = self.state.planned
        spool = Spool(self._spool_dir, SpoolInfo(planned.interview_id, planned.ws_url, 16000))
        self.streamer = AudioStreamer(
            spool, self._session.token, self._config.kiosk_id, __version__
        )
        self._stream_task = asyncio.create_task(self._stream())
        self._start_capture(self._on_interview_block)
        self._started_at = time.monotonic()
        try:
            async with asyncio.timeout(15):
                await self.streamer.wait_ready()
        except (TimeoutError, KioskError) as exc:
            self._stop_capture()
            self._stream_task.cancel()
            if isinstance(exc, KioskError):
                raise
            raise KioskError("The interview server cannot be reached. Call the proctor.") from None
        self.state.question = self.streamer.question
        self._go(Screen.INTERVIEW)

    async def _stream(self) -> None:
        assert self.streamer is not None
        try:
            await self.streamer.run()
        finally:
            self._changed()

    def _on_interview_block(self, block: bytes) -> None:
        assert self.streamer is not None
        self.streamer.feed(block)
        self.state.mic_level_dbfs = block_dbfs(block)
        self._changed()

    @property
    def stream_state(self) -> StreamState | None:
        return self.streamer.state if self.streamer else None

    async def next_question(self) -> None:
        self._require(Screen.INTERVIEW)
        assert self.streamer is not None
        following = await self.streamer.answer_done()
        self.state.question = following
        self.state.questions_complete = following is None
        self._changed()

    async def finish(self) -> None:
        self._require(Screen.INTERVIEW)
        assert self.streamer is not None
        self._stop_capture()
        completed = await self.streamer.end()
        if self._stream_task is not None:
            await self._stream_task
        self.state.duration_seconds = (
            float(completed["duration_seconds"])
            if completed
            else time.monotonic() - self._started_at
        )
        self._session = None  # the candidate's token leaves memory with the session
        self._go(Screen.DONE)

    def lock(self) -> None:
        """Back to the locked screen, forgetting every token and the candidate."""
        self._stop_capture()
        self._proctor_token = None
        self._session = None
        self.streamer = None
        self.state = FlowState()
        self._go(Screen.LOCKED)
