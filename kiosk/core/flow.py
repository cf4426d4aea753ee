"""The kiosk's flow, one screen at a time, with no Qt (docs: README "The kiosk").

LOCKED -> SIGN_IN -> LAUNCH -> CHOOSE -> MIC_CHECK -> INTERVIEW -> DONE -> LOCKED

LAUNCH -> INTERVIEW directly when a proctor resumes an interview a crash left unfinished;
any candidate screen -> PAUSED after ``idle_seconds`` without input, until a proctor signs in.

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

import structlog

from kiosk import __version__
from kiosk.audio.devices import InputDevice
from kiosk.core.api_client import (
    ApplicationSummary,
    CandidateSession,
    CandidateSummary,
    InterviewProgress,
    KioskApi,
    PlannedInterview,
)
from kiosk.core.config import KioskConfig
from kiosk.core.errors import ApiError, AudioDeviceError, KioskError
from kiosk.core.lockdown import pin_matches
from kiosk.core.mic_check import MicCheckResult, analyse, block_dbfs
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer, Question, StreamState

logger = structlog.get_logger(__name__)

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
    PAUSED = "paused"


# Screens a candidate sits at: where going idle pauses the session.
CANDIDATE_SCREENS = frozenset({Screen.CHOOSE, Screen.MIC_CHECK, Screen.INTERVIEW})
# Answers are spoken, not typed: speech louder than this counts as input.
VOICE_ACTIVITY_DBFS = -45.0
NO_MICROPHONE = (
    "No microphone is working at this seat. Check that it is plugged in, or call the proctor."
)


class Capture(Protocol):
    """The microphone, as the flow needs it (``kiosk.audio.capture.MicrophoneCapture``)."""

    def start(self, loop: asyncio.AbstractEventLoop) -> None: ...

    def stop(self) -> None: ...


# (on_block, device index or None for the system default) -> a capture, not yet started.
CaptureFactory = Callable[[Callable[[bytes], None], int | None], Capture]
DeviceLister = Callable[[], list[InputDevice]]


@dataclass(frozen=True)
class Resumable:
    """An interview a previous run of this kiosk left unfinished (its spool is on disk)."""

    info: SpoolInfo
    progress: InterviewProgress

    @property
    def label(self) -> str:
        who = self.info.candidate_name or self.info.candidate_email
        return f"Resume {who} at question {self.progress.question_index + 1}"


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
    devices: list[InputDevice] = field(default_factory=list)
    device: int | None = None  # the chosen input device's index; None: the system default
    mic_error: str | None = None
    resumable: list[Resumable] = field(default_factory=list)
    paused_from: Screen | None = None


class KioskFlow:
    def __init__(
        self,
        api: KioskApi,
        config: KioskConfig,
        spool_dir: Path,
        capture_factory: CaptureFactory,
        list_devices: DeviceLister = list,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._config = config
        self._spool_dir = spool_dir
        self._capture_factory = capture_factory
        self._list_devices = list_devices
        self._clock = clock
        # Public so a test (or a future per-screen policy) can shorten it.
        self.idle_seconds = config.idle_minutes * 60.0
        self._last_activity = clock()
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
        self.state.resumable = await self._find_resumable(self._proctor_token)
        self._go(Screen.LAUNCH)

    async def _find_resumable(self, token: str) -> list[Resumable]:
        """Spools left by a crash, for interviews the backend still takes audio for."""
        found = []
        for info in Spool.find(self._spool_dir):
            if not info.candidate_email:
                continue  # written by `interview-kiosk stream-file`: resumed by rerunning it
            try:
                progress = await self._api.interview_progress(token, info.interview_id)
            except ApiError as exc:
                logger.warning(
                    "spool_not_resumable", interview_id=info.interview_id, error=str(exc)
                )
                continue
            if progress.status == "completed":
                # The server completed it, so it has every byte: the journal is not needed.
                Spool(self._spool_dir, info).remove()
            elif progress.status in ("scheduled", "in_progress"):
                found.append(Resumable(info, progress))
        return found

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
        self.note_activity()
        self._go(Screen.CHOOSE)

    async def resume(self, item: Resumable) -> None:
        """Continue an interview a crash interrupted: a new session for the same candidate,
        the spool's unacknowledged audio uploaded first, then the microphone again."""
        self._require(Screen.LAUNCH)
        assert self._proctor_token is not None
        self._session = await self._api.launch_session(
            self._proctor_token, item.info.candidate_email, self._config.kiosk_id
        )
        self._proctor_token = None
        self.state.candidate = self._session.candidate
        self.state.resumable = []
        self._refresh_devices()
        await self._begin_streaming(await self._open_spool(item.info))

    # --- choosing, checking the microphone -----------------------------------------------------

    async def choose(self, application_id: str | None = None, role_type: str | None = None) -> None:
        self._require(Screen.CHOOSE)
        assert self._session is not None
        if role_type is not None and not self._config.allow_practice:
            raise KioskError("Practice interviews are not offered at this kiosk.")
        self.state.planned = await self._api.plan(self._session.token, application_id, role_type)
        self.state.mic_result = None
        self._refresh_devices()
        self._go(Screen.MIC_CHECK)
        self._open_check_capture()

    def _refresh_devices(self) -> None:
        try:
            devices = self._list_devices()
        except AudioDeviceError as exc:
            logger.warning("audio_devices_unavailable", error=str(exc))
            devices = []
        self.state.devices = devices
        wanted = (self._config.audio_device or "").lower()
        preferred = [d for d in devices if wanted and wanted in d.name.lower()]
        preferred += [d for d in devices if d.is_default] + devices
        self.state.device = preferred[0].index if preferred else None

    def select_device(self, index: int) -> None:
        """The candidate or proctor picked another microphone on the check screen."""
        self._require(Screen.MIC_CHECK)
        if index == self.state.device:
            return
        self.state.device = index
        self.state.mic_result = None
        self._open_check_capture()

    def _open_check_capture(self) -> None:
        try:
            self._start_capture(self._on_check_block)
        except AudioDeviceError as exc:
            logger.warning("microphone_unavailable", device=self.state.device, error=str(exc))
            self.state.mic_error = NO_MICROPHONE
        else:
            self.state.mic_error = None
        self._changed()

    @property
    def plan_summary(self) -> str:
        planned = self.state.planned
        if planned is None:
            return ""
        minutes = planned.question_count * MINUTES_PER_QUESTION
        return f"{planned.question_count} questions, about {minutes} minutes"

    def _start_capture(self, on_block: Callable[[bytes], None]) -> None:
        self._stop_capture()
        capture = self._capture_factory(on_block, self.state.device)
        capture.start(asyncio.get_running_loop())  # AudioDeviceError: no microphone
        self._capture = capture

    def _stop_capture(self) -> None:
        if self._capture is not None:
            self._capture.stop()
            self._capture = None

    def _on_check_block(self, block: bytes) -> None:
        self._heard(block)

    async def check_microphone(self, seconds: float = MIC_CHECK_SECONDS) -> MicCheckResult:
        self._require(Screen.MIC_CHECK)
        if self._capture is None:
            self._open_check_capture()  # perhaps plugged in since
            if self._capture is None:
                raise KioskError(NO_MICROPHONE)
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
        if self._capture is None:
            raise KioskError(NO_MICROPHONE)
        planned = self.state.planned
        candidate = self._session.candidate
        info = SpoolInfo(
            planned.interview_id, planned.ws_url, 16000, candidate.email, candidate.full_name
        )
        await self._begin_streaming(await self._open_spool(info))

    async def _open_spool(self, info: SpoolInfo) -> Spool:
        # Opening writes and fsyncs the journal's metadata: tens of milliseconds on a busy
        # disk, more than once over 100 ms measured. Not on the GUI thread.
        return await asyncio.to_thread(Spool, self._spool_dir, info)

    async def _begin_streaming(self, spool: Spool) -> None:
        """Capture into ``spool`` and stream it, then show the server's current question."""
        assert self._session is not None
        streamer = AudioStreamer(spool, self._session.token, self._config.kiosk_id, __version__)
        self.streamer = streamer
        try:
            self._start_capture(self._on_interview_block)
        except AudioDeviceError:
            spool.close()
            self.streamer = None
            raise KioskError(NO_MICROPHONE) from None
        self._stream_task = asyncio.create_task(self._stream())
        self._started_at = time.monotonic()
        try:
            async with asyncio.timeout(15):
                await streamer.wait_ready()
        except (TimeoutError, KioskError) as exc:
            self._stop_capture()
            self._stream_task.cancel()
            if isinstance(exc, KioskError):
                raise
            raise KioskError("The interview server cannot be reached. Call the proctor.") from None
        self.state.question = streamer.question
        self.note_activity()
        self._go(Screen.INTERVIEW)

    async def _stream(self) -> None:
        assert self.streamer is not None
        try:
            await self.streamer.run()
        finally:
            self._changed()

    def _on_interview_block(self, block: bytes) -> None:
        if self.streamer is not None:
            self.streamer.feed(block)
        self._heard(block)

    def _heard(self, block: bytes) -> None:
        level = block_dbfs(block)
        self.state.mic_level_dbfs = level
        if level > VOICE_ACTIVITY_DBFS:
            self.note_activity()
        if self._check_blocks is not None:
            self._check_blocks.append(block)
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
        await self._end_interview()

    async def _end_interview(self) -> None:
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

    # --- going idle ------------------------------------------------------------------------------

    def note_activity(self) -> None:
        """The candidate did something: a key, the mouse, or speech."""
        self._last_activity = self._clock()

    def check_idle(self) -> bool:
        """Called by a timer: pause a candidate screen left without input for too long."""
        if self.state.screen not in CANDIDATE_SCREENS:
            return False
        if self._clock() - self._last_activity < self.idle_seconds:
            return False
        logger.info("session_paused_idle", screen=str(self.state.screen))
        # Nothing is captured while paused; the stream stays connected and keeps its place.
        self._stop_capture()
        self.state.paused_from = self.state.screen
        self._go(Screen.PAUSED)
        return True

    async def continue_after_pause(self, email: str, password: str) -> None:
        """A proctor signed in at the paused screen: back to where the candidate was."""
        self._require(Screen.PAUSED)
        await self._confirm_proctor(email, password)
        screen, self.state.paused_from = self.state.paused_from, None
        assert screen is not None
        self.note_activity()
        self._go(screen)
        if screen is Screen.MIC_CHECK:
            self._open_check_capture()
        elif screen is Screen.INTERVIEW:
            try:
                self._start_capture(self._on_interview_block)
            except AudioDeviceError:
                raise KioskError(NO_MICROPHONE) from None

    async def end_after_pause(self, email: str, password: str) -> None:
        """A proctor ends the paused session: what was recorded is kept, the kiosk locks."""
        self._require(Screen.PAUSED)
        await self._confirm_proctor(email, password)
        if self.state.paused_from is Screen.INTERVIEW and self.streamer is not None:
            await self._end_interview()
        self.lock()

    async def _confirm_proctor(self, email: str, password: str) -> None:
        if not email.strip() or not password:
            raise KioskError("A proctor must sign in: enter your email and password.")
        token = await self._api.sign_in(email.strip(), password)
        try:
            await self._api.find_candidates(token, "")  # a proctor-only route
        except ApiError as exc:
            if exc.status_code == 403:
                raise KioskError("Only a proctor can do this.") from None
            raise

    def lock(self) -> None:
        """Back to the locked screen, forgetting every token and the candidate."""
        self._stop_capture()
        if self._stream_task is not None and not self._stream_task.done():
            # Left mid-interview (a paused session ended unfinished): the spool stays on
            # disk for a resume; only the connection goes.
            self._stream_task.cancel()
        self._stream_task = None
        self._proctor_token = None
        self._session = None
        self.streamer = None
        self.state = FlowState()
        self._go(Screen.LOCKED)
