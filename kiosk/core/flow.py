"""The kiosk's flow, one screen at a time, with no Qt (docs: README "The kiosk").

LOCKED -> SIGN_IN -> LAUNCH -> CHOOSE -> MIC_CHECK -> INTERVIEW -> DONE -> LOCKED

LAUNCH -> INTERVIEW directly when a proctor resumes an interview a crash left unfinished;
any candidate screen -> PAUSED after ``idle_seconds`` without input, until a proctor signs in.

Controllers call these coroutines and redraw from ``state`` whenever ``changed`` fires. The
rules every action keeps (tests/test_flow_machine.py checks them after every step):

- An action commits (screen, tokens, session, state) only once everything it awaits has
  succeeded. A failure raises a ``KioskError`` whose message is shown as it is, and leaves the
  screen and its credentials as they were.
- What the current screen does not offer raises ``WrongScreen``; a second action while one is
  under way raises ``Busy``. ``lock()`` works from anywhere at any moment and forgets every
  token; an action it overtakes raises ``Interrupted`` and keeps nothing.
- The proctor's token is held only on the launch screen, the candidate's session only on the
  candidate's screens and PAUSED; the microphone is open only on the check and interview
  screens.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

import structlog

from kiosk import __version__
from kiosk.audio.devices import InputDevice
from kiosk.core.announcements import Moment
from kiosk.core.answer_clock import AnswerClock, Phase, rules_summary
from kiosk.core.api_client import (
    ApplicationSummary,
    CandidateSession,
    CandidateSummary,
    InterviewProgress,
    KioskApi,
    PlannedInterview,
)
from kiosk.core.config import KioskConfig
from kiosk.core.errors import (
    ApiError,
    AudioDeviceError,
    BackendUnreachable,
    Busy,
    InsecureTransport,
    Interrupted,
    KioskError,
    StreamError,
    WrongScreen,
)
from kiosk.core.lockdown import pin_matches
from kiosk.core.mic_check import MicCheckResult, analyse, block_dbfs
from kiosk.core.practice import PracticeAnswer
from kiosk.core.proctor_desk import ProctorDesk
from kiosk.core.question_reader import QuestionReader, Speaker
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer, Question, StreamState

logger = structlog.get_logger(__name__)
_T = TypeVar("_T")

# A spoken answer takes about two minutes: what "about M minutes" is based on.
MINUTES_PER_QUESTION = 2
MIC_CHECK_SECONDS = 5.0
SAMPLE_RATE = 16000  # what the microphone captures and the interview records
# How long starting or resuming waits for the stream's `ready` before giving up.
READY_TIMEOUT_SECONDS = 15.0
# How long ending a session from the console may take before the seat locks regardless.
ENDING_SECONDS = 15.0
# How long a quitting kiosk waits for its sign-outs (a backend that does not answer by then
# is not waited for: the tokens expire anyway).
SIGN_OUT_SECONDS = 2.0
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
# Where a candidate's session is held: the candidate screens, and paused.
SESSION_SCREENS = CANDIDATE_SCREENS | {Screen.PAUSED}
# Answers are spoken, not typed: speech louder than this counts as input.
VOICE_ACTIVITY_DBFS = -45.0

# Extra time a proctor may grant at launch: (what the proctor reads, what the backend records).
EXTRA_TIME_CHOICES: list[tuple[str, str | None]] = [
    ("No extra time", None), ("Extra time: 25% more", "x1.25"),
    ("Extra time: 50% more", "x1.5"), ("Extra time: double", "x2"), ("Unlimited time", "unlimited"),
]  # fmt: skip

# What people read when something goes wrong (one place, so tests and screens agree).
NO_MICROPHONE = (
    "No microphone is working at this seat. Check that it is plugged in, or call the proctor."
)
NOT_HERE = "That is not possible on this screen."
BUSY = "Please wait: the kiosk is still working on the last step."
INTERRUPTED = "The kiosk was locked before this finished."
UNREACHABLE = "The interview server cannot be reached. Try again."
SERVER_TROUBLE = "The interview server had a problem. Try again."
NOT_A_PROCTOR = "Only a proctor can do this."
STREAM_UNREACHABLE = "The interview server cannot be reached. Call the proctor."
STREAM_FAILED = "The interview cannot continue at this seat. Call the proctor."
ALREADY_COMPLETE = "That interview is already complete."
NO_SESSION_TO_PAUSE = "There is no session at this seat to pause."
NO_SESSION_TO_END = "There is no session at this seat to end."
NO_SESSION_TO_RESUME = "There is no session at this seat to resume."
NO_ONE_TO_MESSAGE = "No candidate is at this seat to read a message."
SESSION_UNDER_WAY = "A candidate's session is under way here: end it instead of locking."


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
    # The question's think/answer clock (None: the server sets no rules, or none is asked).
    answer: AnswerClock | None = None
    questions_complete: bool = False
    duration_seconds: float = 0.0
    exit_requested: bool = False
    devices: list[InputDevice] = field(default_factory=list)
    device: int | None = None  # the chosen input device's index; None: the system default
    mic_error: str | None = None
    resumable: list[Resumable] = field(default_factory=list)
    paused_from: Screen | None = None
    # Why a proctor paused the session from the console (None: the seat went idle).
    pause_reason: str | None = None
    # What the candidate is interviewing for, as the console shows it.
    posting: str | None = None


class KioskFlow:
    def __init__(
        self,
        api: KioskApi,
        config: KioskConfig,
        spool_dir: Path,
        capture_factory: CaptureFactory,
        list_devices: DeviceLister = list,
        clock: Callable[[], float] = time.monotonic,
        speaker: Speaker | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``speaker``: where questions are read aloud (None: they are not). ``tls``: the
        trust for wss:// streams (kiosk/core/tls.py), the REST client's own."""
        self._api = api
        self._tls = tls
        self._speaker = speaker
        self.reader: QuestionReader | None = None
        # The practice answer heard back on the check screen; only with a speaker to hear it.
        self.practice = (
            PracticeAnswer(speaker, SAMPLE_RATE, self._changed, self._practice_played)
            if speaker is not None
            else None
        )
        self._background: set[asyncio.Task[None]] = set()
        self._signing_out: set[asyncio.Task[None]] = set()
        self._config = config
        self._spool_dir = spool_dir
        self._capture_factory = capture_factory
        self._list_devices = list_devices
        self._clock = clock
        # Public so a test (or a future per-screen policy) can shorten them.
        self.idle_seconds = config.idle_minutes * 60.0
        self.ready_timeout_seconds = READY_TIMEOUT_SECONDS
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
        # Every screen change moves the epoch on: an action that awaited across one commits
        # nothing. The action under way (None: none) keeps actions to one at a time.
        self._epoch = 0
        self._action_under_way: object | None = None
        # Calls for the proctor and the proctor's messages (the console's side of the seat).
        self.desk = ProctorDesk(self._changed)

    @property
    def kiosk_id(self) -> str:
        return self._config.kiosk_id

    # --- observing -----------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _go(self, screen: Screen) -> None:
        self._epoch += 1
        self.state.screen = screen
        self._changed()

    # --- the rules every action keeps ----------------------------------------------------------

    def _require(self, *screens: Screen) -> None:
        if self.state.screen not in screens:
            logger.info("action_refused", screen=str(self.state.screen))
            raise WrongScreen(NOT_HERE)

    def _require_idle(self) -> None:
        if self._action_under_way is not None:
            raise Busy(BUSY)

    @contextmanager
    def _action(self, *screens: Screen) -> Iterator[int]:
        """One action at a time, on the screens that offer it. Yields the epoch it began in,
        for ``_still`` to check before anything is committed."""
        self._require(*screens)
        self._require_idle()
        mine = object()
        self._action_under_way = mine
        try:
            yield self._epoch
        finally:
            if self._action_under_way is mine:  # lock() may have let another one start
                self._action_under_way = None

    def _still(self, epoch: int) -> None:
        if self._epoch != epoch:
            raise Interrupted(INTERRUPTED)

    async def _ask(self, call: Awaitable[_T]) -> _T:
        """A backend call; its failure in words for the screen."""
        try:
            return await call
        except BackendUnreachable as exc:
            raise BackendUnreachable(UNREACHABLE) from exc
        except ApiError as exc:
            if exc.status_code is not None and exc.status_code >= 500:
                logger.warning("backend_failed", status=exc.status_code, error=str(exc))
                raise ApiError(SERVER_TROUBLE, exc.status_code) from exc
            raise

    # What each screen holds; the checks only fail if a rule above was broken.

    def _proctor(self) -> str:
        if self._proctor_token is None:
            raise WrongScreen(NOT_HERE)
        return self._proctor_token

    def _candidate_session(self) -> CandidateSession:
        if self._session is None:
            raise WrongScreen(NOT_HERE)
        return self._session

    def _planned(self) -> PlannedInterview:
        if self.state.planned is None:
            raise WrongScreen(NOT_HERE)
        return self.state.planned

    def _streaming(self) -> tuple[AudioStreamer, asyncio.Task[None]]:
        if self.streamer is None or self._stream_task is None:
            raise WrongScreen(NOT_HERE)
        return self.streamer, self._stream_task

    # --- leaving kiosk mode: a proctor, or the exit PIN -----------------------------------------

    def open_exit_pin(self) -> None:
        self._require(Screen.LOCKED)
        self._go(Screen.EXIT_PIN)

    async def exit_with_pin(self, pin: str) -> None:
        with self._action(Screen.EXIT_PIN) as epoch:
            if not self._config.exit_pin_hash:
                raise KioskError("No exit PIN is set for this kiosk. A proctor must sign in.")
            matches = await pin_matches(self._config.exit_pin_hash, pin)
            self._still(epoch)
            if not matches:
                raise KioskError("Wrong PIN.")
            self._request_exit()

    def exit_as_proctor(self) -> None:
        self._require(Screen.LAUNCH)
        self._require_idle()
        self._request_exit()

    def _request_exit(self) -> None:
        self.lock()  # nothing is held while the kiosk quits
        self.state.exit_requested = True
        self._changed()

    # --- locked, sign-in, launch ---------------------------------------------------------------

    def open_sign_in(self) -> None:
        self._require(Screen.LOCKED)
        self._go(Screen.SIGN_IN)

    async def sign_in(self, email: str, password: str) -> None:
        with self._action(Screen.SIGN_IN) as epoch:
            if not email.strip() or not password:
                raise KioskError("Enter your email and password.")
            token = await self._ask(self._api.sign_in(email.strip(), password))
            with self._forgotten_on_failure(token):
                candidates = await self._proctor_search(token, "")
                resumable = await self._find_resumable(token)
                self._still(epoch)
            self._proctor_token = token
            self.state.candidates = candidates
            self.state.resumable = resumable
            self._go(Screen.LAUNCH)

    async def _proctor_search(self, token: str, query: str) -> list[CandidateSummary]:
        """Candidates matching ``query``: a proctor-only route, so it also proves who signed in."""
        try:
            return await self._ask(self._api.find_candidates(token, query))
        except ApiError as exc:
            if exc.status_code == 403:
                raise ApiError(NOT_A_PROCTOR, 403) from None
            raise

    async def _find_resumable(self, token: str) -> list[Resumable]:
        """Spools left by a crash, for interviews the backend still takes audio for."""
        found = []
        for info in Spool.find(self._spool_dir):
            if not info.candidate_email:
                continue  # written by `interview-kiosk stream-file`: resumed by rerunning it
            try:
                progress = await self._ask(self._api.interview_progress(token, info.interview_id))
            except BackendUnreachable:
                raise
            except ApiError as exc:
                if exc.status_code is None or exc.status_code >= 500:
                    raise
                logger.warning(
                    "spool_not_resumable", interview_id=info.interview_id, error=str(exc)
                )
                continue
            if progress.status == "completed":
                # The server completed it, so it has every byte: the journal is not needed.
                await asyncio.to_thread(_remove_spool, self._spool_dir, info)
            elif progress.status in ("scheduled", "in_progress"):
                found.append(Resumable(info, progress))
        return found

    async def find_candidates(self, query: str) -> None:
        """The proctor's search (while typing: it may overlap another action)."""
        self._require(Screen.LAUNCH)
        epoch = self._epoch
        found = await self._proctor_search(self._proctor(), query)
        self._still(epoch)
        self.state.candidates = found
        self._changed()

    async def launch(self, candidate: CandidateSummary, extra_time: str | None = None) -> None:
        """Hand the kiosk to the candidate: the proctor's token is dropped from memory.
        ``extra_time`` is an accommodation the proctor grants ("x1.5"), kept with the session."""
        with self._action(Screen.LAUNCH) as epoch:
            session = await self._ask(
                self._api.launch_session(
                    self._proctor(), candidate.email, self._config.kiosk_id, extra_time
                )
            )
            with self._forgotten_on_failure(session.token):
                applications = await self._ask(self._api.applications(session.token))
                self._still(epoch)
            self._hand_over(session)
            self.state.applications = applications
            self.note_activity()
            self._go(Screen.CHOOSE)

    def _hand_over(self, session: CandidateSession) -> None:
        """The proctor leaves the seat: their token and lists go, the candidate's come."""
        self._forget(self._proctor_token)
        self._proctor_token = None
        self.state.candidates = []
        self.state.resumable = []
        self._session = session
        self.state.candidate = session.candidate
        self.desk.clear()  # nothing of an earlier session's calls or messages carries over

    async def resume(self, item: Resumable) -> None:
        """Continue an interview a crash interrupted: a new session for the same candidate,
        the spool's unacknowledged audio uploaded first, then the microphone again."""
        with self._action(Screen.LAUNCH) as epoch:
            session = await self._ask(
                self._api.launch_session(
                    self._proctor(), item.info.candidate_email, self._config.kiosk_id
                )
            )
            with self._forgotten_on_failure(session.token):
                self._still(epoch)
                streamer, task = await self._connect(
                    await self._open_spool(item.info), session.token, epoch
                )
                if streamer.state is StreamState.COMPLETED:  # ended before the crash after all
                    self.state.resumable = [r for r in self.state.resumable if r != item]
                    self._changed()
                    raise KioskError(ALREADY_COMPLETE)
                self._refresh_devices()
                await self._start_recording(streamer, task, epoch, session.token)
            self._hand_over(session)
            self._go(Screen.INTERVIEW)

    # --- choosing, checking the microphone -----------------------------------------------------

    async def choose(self, application_id: str | None = None, role_type: str | None = None) -> None:
        with self._action(Screen.CHOOSE) as epoch:
            session = self._candidate_session()
            if role_type is not None and not self._config.allow_practice:
                raise KioskError("Practice interviews are not offered at this kiosk.")
            if application_id is None and role_type is None:
                raise KioskError("Choose an application or a practice interview.")
            planned = await self._ask(self._api.plan(session.token, application_id, role_type))
            self._still(epoch)
            self.state.planned = planned
            self.state.posting = self._posting_name(application_id, role_type)
            self.state.mic_result = None
            self._stop_practice(forget=True)
            self._refresh_devices()
            self._go(Screen.MIC_CHECK)
            self._open_check_capture()

    def _posting_name(self, application_id: str | None, role_type: str | None) -> str | None:
        for application in self.state.applications:
            if application.id == application_id:
                return f"{application.job_title}, {application.company}"
        return f"Practice: {role_type}" if role_type is not None else None

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
        self._require_idle()  # not under a running check or a starting interview
        if index == self.state.device:
            return
        self._stop_practice()
        self.state.device = index
        self.state.mic_result = None
        self._open_check_capture()

    def _open_check_capture(self) -> None:
        try:
            self._start_capture(self._heard)
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
        if planned.rules is not None:
            return rules_summary(planned.question_count, planned.rules)
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

    async def check_microphone(self, seconds: float = MIC_CHECK_SECONDS) -> MicCheckResult:
        with self._action(Screen.MIC_CHECK) as epoch:
            session, planned = self._candidate_session(), self._planned()
            if self._capture is None:
                self._open_check_capture()  # perhaps plugged in since
                if self._capture is None:
                    raise AudioDeviceError(NO_MICROPHONE)
            self._stop_practice()
            for earlier in self._background:  # an older record must not land after this one
                earlier.cancel()
            blocks: list[bytes] = []
            self._check_blocks = blocks
            try:
                await asyncio.sleep(seconds)
            finally:
                if self._check_blocks is blocks:
                    self._check_blocks = None
            self._still(epoch)
            result = analyse(blocks)
            # Kept with the interview, so a reviewer can see the seat was checked.
            await self._ask(
                self._api.record_preflight(
                    session.token, planned.interview_id, self._preflight(result)
                )
            )
            self._still(epoch)
            self.state.mic_result = result
            self._changed()
            return result

    # --- the interview ---------------------------------------------------------------------------

    def _preflight(self, result: MicCheckResult) -> dict[str, object]:
        seconds = self.practice.seconds if self.practice is not None else 0.0
        return {
            **result.as_json(), "practice_used": seconds > 0,
            "practice_seconds": round(seconds, 2),
        }  # fmt: skip

    @property
    def can_practice(self) -> bool:
        """The practice answer is offered: a speaker to hear it on, after the check."""
        return (
            self.practice is not None
            and self.state.screen is Screen.MIC_CHECK
            and self.state.mic_result is not None
        )

    def practice_answer(self) -> None:
        """The practice button: answer, stop and hear it back, or stop the playback."""
        self._require(Screen.MIC_CHECK)
        self._require_idle()
        if not self.can_practice or self.practice is None or self._capture is None:
            raise WrongScreen(NOT_HERE)
        self.practice.press()
        self.note_activity()

    def _practice_played(self, seconds: float) -> None:
        """Kept with the interview: that the candidate practised (what they said is not)."""
        session, planned, result = self._session, self.state.planned, self.state.mic_result
        if session is None or planned is None or result is None:
            return
        call = self._api.record_preflight(session.token, planned.interview_id,
                                          self._preflight(result))  # fmt: skip
        task = asyncio.ensure_future(call)
        self._background.add(task)

        def done(finished: asyncio.Future[None]) -> None:
            self._background.discard(task)
            if not finished.cancelled() and finished.exception() is not None:
                logger.warning("practice_not_recorded", error=str(finished.exception()))

        task.add_done_callback(done)

    def _stop_practice(self, forget: bool = False) -> None:
        if self.practice is not None:
            self.practice.stop()
            if forget:  # a new interview: its own practice
                self.practice.seconds = 0.0

    async def start_interview(self) -> None:
        with self._action(Screen.MIC_CHECK) as epoch:
            self._stop_practice()
            session, planned = self._candidate_session(), self._planned()
            if self._capture is None:
                raise AudioDeviceError(NO_MICROPHONE)
            candidate = session.candidate
            info = SpoolInfo(planned.interview_id, planned.ws_url, SAMPLE_RATE, candidate.email,
                             candidate.full_name)  # fmt: skip
            spool = await self._open_spool(info)
            try:
                streamer, task = await self._connect(spool, session.token, epoch)
                await self._start_recording(streamer, task, epoch, session.token)
            except KioskError:
                if spool.end == 0:  # nothing was recorded: no interview to offer for resuming
                    await asyncio.to_thread(spool.remove)
                raise
            self._go(Screen.INTERVIEW)

    async def _open_spool(self, info: SpoolInfo) -> Spool:
        # Opening writes and fsyncs the journal's metadata: tens of milliseconds on a busy
        # disk, more than once over 100 ms measured. Not on the GUI thread.
        return await asyncio.to_thread(Spool, self._spool_dir, info)

    async def _connect(
        self, spool: Spool, token: str, epoch: int
    ) -> tuple[AudioStreamer, asyncio.Task[None]]:
        """Stream ``spool`` and wait for the server's ``ready``. On any failure, or a screen
        change meanwhile, the stream is stopped again (the spool closed) and nothing is kept."""
        streamer = AudioStreamer(
            spool, token, self._config.kiosk_id, __version__, self._tls,
            encrypted_only=self._api.base_url.startswith("https://"),
        )  # fmt: skip
        task = asyncio.create_task(self._stream(streamer, spool.info.interview_id))
        try:
            async with asyncio.timeout(self.ready_timeout_seconds):
                await streamer.wait_ready()
            self._still(epoch)
        except TimeoutError:
            await _stopped(task)
            raise BackendUnreachable(STREAM_UNREACHABLE) from None
        except InsecureTransport:  # IT's to fix, and the sentence says so
            await _stopped(task)
            raise
        except StreamError as exc:
            await _stopped(task)
            raise StreamError(STREAM_FAILED) from exc
        except KioskError:  # Interrupted
            await _stopped(task)
            raise
        except BaseException:
            task.cancel()
            raise
        return streamer, task

    async def _start_recording(
        self, streamer: AudioStreamer, task: asyncio.Task[None], epoch: int, token: str
    ) -> None:
        """Commit a connected stream: the microphone feeds it from now on. Without a
        microphone the stream is stopped again and the screen stays as it was."""
        try:
            self._start_capture(self._interview_feed(streamer))
        except AudioDeviceError:
            await _stopped(task)
            if self._epoch == epoch and self.state.screen is Screen.MIC_CHECK:
                self._open_check_capture()  # the check screen's meter, as before
            raise AudioDeviceError(NO_MICROPHONE) from None
        self.streamer = streamer
        self._stream_task = task
        self._started_at = time.monotonic()
        self.reader = self._question_reader(streamer, token)
        self._ask_question(streamer.question)
        self.note_activity()

    def _question_reader(self, streamer: AudioStreamer, token: str) -> QuestionReader | None:
        """Questions are read aloud unless this kiosk (kiosk.toml) or the posting says not,
        or the seat has no speaker. A resumed interview has no plan here: read aloud."""
        planned = self.state.planned
        if (
            self._speaker is None
            or not self._config.read_questions_aloud
            or (planned is not None and not planned.read_aloud)
        ):
            return None
        interview_id, api = streamer.interview_id, self._api

        def fetch(index: int) -> Awaitable[bytes]:
            return api.question_speech(token, interview_id, index)

        count = planned.question_count if planned is not None else None
        return QuestionReader(fetch, self._speaker, self._changed, count)

    async def _stream(self, streamer: AudioStreamer, interview_id: str) -> None:
        try:
            await streamer.run()
        except StreamError as exc:
            # The screen reads it from stream_state; an action waiting on the stream raises.
            logger.warning("stream_failed", interview_id=interview_id, error=str(exc))
        finally:
            self._changed()

    def _interview_feed(self, streamer: AudioStreamer) -> Callable[[bytes], None]:
        def on_block(block: bytes) -> None:
            clock = self.state.answer
            if self.reader is not None and self.reader.reading:
                # The question is being read aloud: its reading is not thinking time, so
                # nothing is recorded and its clock does not move (with no time to think,
                # the answer starts when the reading ends, not under it).
                self._heard(block)
                return
            if (
                clock is None
                or clock.phase is not Phase.SAVING
                or streamer.state is StreamState.STREAMING
            ):
                streamer.feed(block)
            # Else an answer was kept while the link is down, and the next question cannot be
            # shown until the server sends it: nothing is recorded meanwhile, so its think
            # time (which runs on the recording) does not start before the candidate sees it.
            self._keep_time(streamer)
            self._heard(block)

        return on_block

    def _ask_question(self, question: Question | None) -> None:
        """The question the server asks now, with a fresh clock if it sets rules."""
        self.state.question = question
        self.state.questions_complete = question is None
        self.state.answer = (
            AnswerClock(question, self.streamer.bytes_per_second)
            if question is not None and question.rules is not None and self.streamer is not None
            else None
        )
        if self.reader is not None:
            if self.can_repeat_question and question is not None:
                self.reader.read(question.index)  # a question resumed mid-answer is not
            else:
                self.reader.stop()

    @property
    def can_repeat_question(self) -> bool:
        """ "Repeat the question" is offered: questions are read aloud here, and the
        candidate has not started answering."""
        clock = self.state.answer
        return (
            self.reader is not None
            and self.reader.available
            and self.state.question is not None
            and (clock is None or clock.phase is Phase.THINKING)
        )

    async def repeat_question(self) -> None:
        """Read the question aloud again, from the start. Like the first reading, it does
        not count against thinking time."""
        self._require(Screen.INTERVIEW)
        self._require_idle()
        question = self.state.question
        if not self.can_repeat_question or self.reader is None or question is None:
            raise WrongScreen(NOT_HERE)
        self.reader.read(question.index)
        self.note_activity()

    def _keep_time(self, streamer: AudioStreamer) -> None:
        """Each captured block moves the clock: a limit it passes ends thinking or the answer
        at the limit's offset, and a question the server asked after a kept answer is shown."""
        clock = self.state.answer
        if clock is not None:
            for action in clock.reach(streamer.captured_end):
                logger.info("answer_limit", kind=action.kind, index=action.index,
                            take=action.take)  # fmt: skip
                streamer.say(action)
        if clock is not None and clock.phase is Phase.SAVING:
            asked = streamer.question
            if asked is None or asked.index > clock.index:
                self._ask_question(asked)

    @property
    def answer_headline(self) -> str:
        """ "Think · 0:30", "Answering · 2:59"…, or "" without rules."""
        clock, streamer = self.state.answer, self.streamer
        return "" if clock is None or streamer is None else clock.headline(streamer.captured_end)

    def moment(self) -> Moment:
        """The interview screen now, for what a screen reader is told (announcements)."""
        question, clock, streamer = self.state.question, self.state.answer, self.streamer
        if self.state.screen is not Screen.INTERVIEW or streamer is None:
            return Moment()
        stream = str(streamer.state)
        if question is None:
            return Moment(stream=stream)
        # Read aloud, the question is not also announced: two voices at once help no one.
        return Moment(
            question.index, question.total, "" if self.reader is not None else question.text,
            str(clock.phase) if clock is not None else None,
            clock.remaining(streamer.captured_end) if clock is not None else None,
            stream, clock.takes_left if clock is not None else 0,
        )  # fmt: skip

    @property
    def answer_warning(self) -> int | None:
        """30 or 10 while an answer has that many seconds or fewer left."""
        clock, streamer = self.state.answer, self.streamer
        return None if clock is None or streamer is None else clock.warning(streamer.captured_end)

    def _clock_in(self, *phases: Phase) -> tuple[AnswerClock, AudioStreamer]:
        self._require(Screen.INTERVIEW)
        self._require_idle()
        streamer, _task = self._streaming()
        clock = self.state.answer
        if clock is None or clock.phase not in phases:
            raise WrongScreen(NOT_HERE)
        if self.reader is not None:
            self.reader.stop()  # before the offset is taken: the answer starts after it
        return clock, streamer

    async def start_answering(self) -> None:
        """ "Start answering": thinking ends here. Nothing to wait for: the streamer says it
        to the server at this offset, now or after a reconnect."""
        clock, streamer = self._clock_in(Phase.THINKING)
        streamer.say(clock.start(streamer.captured_end))
        self.note_activity()
        self._changed()

    async def finish_answer(self) -> None:
        """The candidate ends this take: keep or try again, or (no take left) it is kept."""
        clock, streamer = self._clock_in(Phase.ANSWERING)
        streamer.say(clock.end(streamer.captured_end))
        self.note_activity()
        self._changed()

    async def try_again(self) -> None:
        clock, streamer = self._clock_in(Phase.DECIDING)
        if clock.takes_left <= 0:
            raise WrongScreen(NOT_HERE)
        streamer.say(clock.start(streamer.captured_end))
        self.note_activity()
        self._changed()

    @property
    def primary_label(self) -> str:
        """What the interview screen's main button does now (``advance``)."""
        clock = self.state.answer
        if clock is None:
            return "Next question"
        return {
            Phase.THINKING: "Start answering", Phase.ANSWERING: "Finish this answer",
            Phase.DECIDING: "Keep this answer", Phase.SAVING: "Saving your answer…",
        }[clock.phase]  # fmt: skip

    async def advance(self) -> None:
        """The interview screen's main button: the next step of the question's clock, or
        the next question when the server sets no rules."""
        clock = self.state.answer
        if clock is None:
            await self.next_question()
            return
        step = {
            Phase.THINKING: self.start_answering, Phase.ANSWERING: self.finish_answer,
            Phase.DECIDING: self.keep_answer,
        }.get(clock.phase)  # fmt: skip
        if step is None:
            raise Busy(BUSY)  # saving: the next question is on its way
        await step()

    async def keep_answer(self) -> None:
        """This take is the answer; the server asks the next question, shown as it comes."""
        clock, streamer = self._clock_in(Phase.DECIDING)
        streamer.say(clock.keep(streamer.captured_end))
        self.note_activity()
        self._changed()

    def _heard(self, block: bytes) -> None:
        if self._capture is None:
            return  # a block from a capture already stopped: no meter or activity for it
        level = block_dbfs(block)
        self.state.mic_level_dbfs = level
        if self.practice is not None and self.state.screen is Screen.MIC_CHECK:
            self.practice.hear(block)
        if level > VOICE_ACTIVITY_DBFS:
            self.note_activity()
        if self._check_blocks is not None:
            self._check_blocks.append(block)
        self._changed()

    @property
    def stream_state(self) -> StreamState | None:
        return self.streamer.state if self.streamer else None

    async def next_question(self) -> None:
        with self._action(Screen.INTERVIEW) as epoch:
            streamer, task = self._streaming()
            if self.state.questions_complete:
                return  # the button is gone: only "Finish" is left
            if self.reader is not None:
                self.reader.stop()
            following = await _while_streaming(task, streamer.answer_done())
            self._still(epoch)
            self._ask_question(following)
            self._changed()

    async def finish(self) -> None:
        with self._action(Screen.INTERVIEW) as epoch:
            await self._end_interview(epoch)
            self._go(Screen.DONE)

    async def _end_interview(self, epoch: int) -> None:
        """Send everything captured and end the interview; the candidate's session goes."""
        streamer, task = self._streaming()
        self._stop_capture()
        self._close_reader()
        completed = await _while_streaming(task, streamer.end())
        self._still(epoch)
        self.state.duration_seconds = (
            float(completed["duration_seconds"])
            if completed
            else time.monotonic() - self._started_at
        )
        self._let_go(proctor=False)  # the candidate's token leaves memory with the session
        self.streamer = None
        self._stream_task = None

    # --- going idle ------------------------------------------------------------------------------

    def note_activity(self) -> None:
        """The candidate did something: a key, the mouse, or speech."""
        self._last_activity = self._clock()

    def check_idle(self) -> bool:
        """Called by a timer: pause a candidate screen left without input for too long. An
        action under way (a button just pressed) is input."""
        screen = self.state.screen
        if screen not in CANDIDATE_SCREENS or self._action_under_way is not None:
            return False
        if self.reader is not None and self.reader.reading:
            self.note_activity()  # listening is being there: the idle time starts after it
            return False
        if self._clock() - self._last_activity < self.idle_seconds:
            return False
        logger.info("session_paused_idle", screen=str(screen))
        self._pause(None)
        self.desk.call("idle")  # "the proctor has been called": on the console, with a sound
        return True

    def _pause(self, reason: str | None) -> None:
        screen = self.state.screen
        # Nothing is captured while paused; the stream stays connected and keeps its place,
        # so the question's clock (the audio) stops where it was.
        self._stop_capture()
        self._stop_practice()
        if self.reader is not None:
            self.reader.stop()
        self.state.paused_from = screen
        self.state.pause_reason = reason
        self._go(Screen.PAUSED)

    def pause_for_proctor(self, reason: str) -> None:
        """The proctor paused this seat from the room console: as going idle, with a reason.
        Already paused, the reason is updated (a second pause is the same pause).

        Raises:
            WrongScreen: no candidate session here to pause.
            Busy: an action is under way (the console retries in a moment).
        """
        if self.state.screen is Screen.PAUSED:
            self.state.pause_reason = reason
            self._changed()
            return
        if self.state.screen not in CANDIDATE_SCREENS:
            raise WrongScreen(NO_SESSION_TO_PAUSE)
        self._require_idle()
        logger.info("session_paused_by_proctor", screen=str(self.state.screen))
        self._pause(reason)

    def resume_for_proctor(self) -> None:
        """The proctor resumed this seat from the console: back where the candidate was.
        Not paused, there is nothing to do (a second resume is the same resume)."""
        if self.state.screen is not Screen.PAUSED:
            if self.state.screen in CANDIDATE_SCREENS:
                return
            raise WrongScreen(NO_SESSION_TO_RESUME)
        with self._action(Screen.PAUSED):
            self._unpause()

    async def end_for_proctor(self) -> None:
        """The proctor ends this seat's session from the console, as at the paused screen:
        what was recorded is kept (the interview ends on the server), the kiosk locks.

        Raises:
            WrongScreen: no candidate session here.
            Busy: an action is under way (the console retries in a moment).
        """
        screen = self.state.screen
        if screen not in SESSION_SCREENS:
            raise WrongScreen(NO_SESSION_TO_END)
        with self._action(screen) as epoch:
            logger.info("session_ended_by_proctor", screen=str(screen))
            try:
                if self.streamer is not None:
                    # Bounded: an unreachable backend must not keep the seat (and the
                    # proctor's console) waiting; the console waits 20 s for the answer.
                    async with asyncio.timeout(ENDING_SECONDS):
                        await self._end_interview(epoch)
            except (KioskError, TimeoutError) as exc:
                # Locked regardless: the spool keeps what the server has not acknowledged.
                logger.warning("ended_interview_not_completed", error=repr(exc))
            finally:
                self.lock()

    def lock_for_proctor(self) -> None:
        """The proctor locks a seat left without a candidate session (a proctor's sign-in
        left open, the done screen); a session under way is ended, not locked away."""
        if self.state.screen in SESSION_SCREENS:
            raise WrongScreen(SESSION_UNDER_WAY)
        self.lock()

    def show_proctor_message(self, text: str) -> None:
        """A message from the proctor, for the candidate at this seat (none: refused, so it
        can never be left for the next candidate)."""
        if self.state.screen not in SESSION_SCREENS:
            raise WrongScreen(NO_ONE_TO_MESSAGE)
        self.desk.show(text)

    def call_proctor(self) -> None:
        """The candidate asks for the proctor ("Call the proctor")."""
        if self.state.screen not in (*CANDIDATE_SCREENS, Screen.PAUSED, Screen.DONE):
            raise WrongScreen(NOT_HERE)
        self.note_activity()
        self.desk.call("called")

    async def continue_after_pause(self, email: str, password: str) -> None:
        """A proctor signed in at the paused screen: back to where the candidate was."""
        with self._action(Screen.PAUSED) as epoch:
            if self.state.paused_from is None:
                raise WrongScreen(NOT_HERE)
            await self._confirm_proctor(email, password)
            self._still(epoch)
            self._unpause()

    def _unpause(self) -> None:
        screen = self.state.paused_from
        if screen is None:
            raise WrongScreen(NOT_HERE)
        if screen is Screen.INTERVIEW:
            streamer, _task = self._streaming()
            if streamer.state is StreamState.FAILED:
                raise StreamError(STREAM_FAILED)
            try:
                self._start_capture(self._interview_feed(streamer))
            except AudioDeviceError:
                raise AudioDeviceError(NO_MICROPHONE) from None
        self.state.paused_from = None
        self.state.pause_reason = None
        self.desk.settle("idle")
        self.note_activity()
        self._go(screen)
        if screen is Screen.MIC_CHECK:
            self._open_check_capture()

    async def end_after_pause(self, email: str, password: str) -> None:
        """A proctor ends the paused session: what was recorded is kept, the kiosk locks."""
        with self._action(Screen.PAUSED) as epoch:
            await self._confirm_proctor(email, password)
            self._still(epoch)
            if self.state.paused_from is Screen.INTERVIEW and self.streamer is not None:
                try:
                    await self._end_interview(epoch)
                except KioskError as exc:
                    # The proctor asked to end it: lock regardless. The spool keeps what the
                    # server has not acknowledged, for a resume.
                    logger.warning("paused_interview_not_ended", error=str(exc))
            self.lock()

    async def _confirm_proctor(self, email: str, password: str) -> None:
        if not email.strip() or not password:
            raise KioskError("A proctor must sign in: enter your email and password.")
        token = await self._ask(self._api.sign_in(email.strip(), password))
        try:
            await self._proctor_search(token, "")
        finally:
            self._forget(token)  # the token is dropped here, never kept

    def lock(self) -> None:
        """Back to the locked screen, forgetting every token and the candidate. Works from
        anywhere, at any moment: an action under way finds the screen changed and keeps
        nothing."""
        self._stop_capture()
        self._close_reader()
        self._stop_practice(forget=True)
        if self._stream_task is not None and not self._stream_task.done():
            # Left mid-interview (a paused session ended unfinished): the spool stays on
            # disk for a resume; only the connection goes.
            self._stream_task.cancel()
        self._stream_task = None
        self._let_go()
        self.streamer = None
        self._check_blocks = None
        self._action_under_way = None
        self.state = FlowState()
        self.desk.clear()
        self._go(Screen.LOCKED)

    async def close(self) -> None:
        """The kiosk is quitting: sign out the tokens it still holds, and give the sign-outs
        under way a moment (``SIGN_OUT_SECONDS`` at most) before the HTTP client goes."""
        self._let_go()
        if self._signing_out:
            await asyncio.wait(set(self._signing_out), timeout=SIGN_OUT_SECONDS)

    def _let_go(self, proctor: bool = True) -> None:
        """Drop the candidate's session (and the proctor's token), signing each out."""
        if self._session is not None:
            self._forget(self._session.token)
            self._session = None
        if proctor:
            self._forget(self._proctor_token)
            self._proctor_token = None

    @contextmanager
    def _forgotten_on_failure(self, token: str) -> Iterator[None]:
        """An action that got ``token`` and then failed keeps nothing: the token goes."""
        try:
            yield
        except BaseException:
            self._forget(token)
            raise

    def _forget(self, token: str | None) -> None:
        """A token the kiosk lets go of is signed out on the backend too, so that a copy of
        it (a memory dump, a proxy's log) is worthless from now on. In the background:
        nothing at the seat waits for it, and a failure is only logged (the token expires
        anyway; a session's token is revoked too when the proctor ends the seat's session)."""
        if token is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the process is going away, and the token with it
        task = asyncio.ensure_future(self._api.sign_out(token))
        self._signing_out.add(task)

        def done(finished: asyncio.Future[None]) -> None:
            self._signing_out.discard(task)
            if not finished.cancelled() and finished.exception() is not None:
                logger.info("sign_out_not_confirmed", error=str(finished.exception()))

        task.add_done_callback(done)

    def _close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None


async def _stopped(task: asyncio.Task[None]) -> None:
    """Cancel a stream task and wait until it has closed its spool."""
    task.cancel()
    await asyncio.wait({task})


async def _while_streaming(task: asyncio.Task[None], call: Awaitable[_T]) -> _T:
    """``call`` on the streamer, unless the stream task ends without answering it (the
    kiosk was locked meanwhile): then ``Interrupted``. A failed stream is ``StreamError``."""
    waiter = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            # The stream ended first; whatever it decided reaches the waiter within a turn.
            await asyncio.wait({waiter}, timeout=0.5)
        if not waiter.done() or waiter.cancelled():
            raise Interrupted(INTERRUPTED)
    finally:
        if not waiter.done():
            waiter.cancel()
    try:
        return waiter.result()
    except StreamError as exc:
        if task.cancelled():
            raise Interrupted(INTERRUPTED) from None
        logger.warning("stream_failed_under_action", error=str(exc))
        raise StreamError(STREAM_FAILED) from exc


def _remove_spool(directory: Path, info: SpoolInfo) -> None:
    Spool(directory, info).remove()
