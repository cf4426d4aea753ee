"""Connects the screens to ``KioskFlow``: buttons call the flow, the flow's state is drawn.

Slots are short; async ones disable what they started from and always restore it. In every
slot a ``KioskError`` is shown as its message, anything else as a plain sentence (logged with
its traceback, never shown to the candidate).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget
from qasync import asyncSlot

from kiosk.core.announcements import Announcement, Announcer
from kiosk.core.answer_clock import Phase
from kiosk.core.api_client import CandidateSummary
from kiosk.core.errors import KioskError
from kiosk.core.flow import EXTRA_TIME_CHOICES, KioskFlow, Screen
from kiosk.core.streamer import StreamState
from kiosk.ui.announce import announce
from kiosk.ui.views.main_window import MainWindow
from kiosk.ui.views.screens import ScreenView

logger = structlog.get_logger(__name__)
UNEXPECTED = "Something went wrong. Please call the proctor."
# What counts as the candidate being there, besides speech (the flow listens for that).
INPUT_EVENTS = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin,
})  # fmt: skip


def meter_percent(dbfs: float) -> int:
    """-60 dBFS (silence) .. 0 dBFS (full scale) onto 0..100."""
    return max(0, min(100, round((dbfs + 60) * 100 / 60)))


class FlowController(QObject):
    def __init__(
        self,
        window: MainWindow,
        flow: KioskFlow,
        practice_roles: list[str],
        done_seconds: float = 15.0,
        on_exit: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._flow = flow
        self._announcer = Announcer()
        self._done_seconds = done_seconds
        self._on_exit = on_exit
        self._answer_started = time.monotonic()
        self._shown_candidates: list[CandidateSummary] | None = None
        self._desk_said = ""
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(300)
        self._search_timer.timeout.connect(self._on_search)
        w = window
        w.choose.practice_roles.addItems(practice_roles)
        w.launch.extra_time_combo.addItems([label for label, _value in EXTRA_TIME_CHOICES])
        w.locked.sign_in_button.clicked.connect(self._on_open_sign_in)
        w.locked.exit_button.clicked.connect(self._on_open_exit_pin)
        w.exit_pin.exit_button.clicked.connect(self._on_exit_pin)
        w.exit_pin.pin_edit.returnPressed.connect(self._on_exit_pin)
        w.exit_pin.cancel_button.clicked.connect(self._on_lock)
        w.launch.exit_kiosk_button.clicked.connect(self._on_exit_as_proctor)
        w.sign_in.sign_in_button.clicked.connect(self._on_sign_in)
        w.sign_in.password_edit.returnPressed.connect(self._on_sign_in)
        w.sign_in.cancel_button.clicked.connect(self._on_lock)
        w.launch.search_edit.textChanged.connect(lambda _text: self._search_timer.start())
        w.launch.launch_button.clicked.connect(self._on_launch)
        w.launch.lock_button.clicked.connect(self._on_lock)
        w.choose.choose_button.clicked.connect(self._on_choose)
        w.choose.practice_button.clicked.connect(self._on_practice)
        w.mic_check.check_button.clicked.connect(self._on_check)
        w.mic_check.start_button.clicked.connect(self._on_start)
        w.mic_check.practice_answer_button.clicked.connect(self._on_practice_answer)
        w.interview.next_button.clicked.connect(self._on_next)
        w.interview.retry_button.clicked.connect(self._on_retry)
        w.interview.repeat_button.clicked.connect(self._on_repeat)
        w.interview.finish_button.clicked.connect(self._on_finish)
        w.launch.resume_button.clicked.connect(self._on_resume)
        w.mic_check.device_combo.currentIndexChanged.connect(self._on_device)
        w.paused.continue_button.clicked.connect(self._on_continue)
        w.paused.password_edit.returnPressed.connect(self._on_continue)
        w.paused.end_button.clicked.connect(self._on_end_paused)
        for view in (w.choose, w.mic_check, w.interview, w.paused):
            view.proctor_bar.call_button.clicked.connect(self._on_call_proctor)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self._ticker = QTimer(self)
        self._ticker.setInterval(250)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()
        self._lock_timer = QTimer(self)
        self._lock_timer.setSingleShot(True)
        self._lock_timer.timeout.connect(self._on_lock)
        flow.subscribe(self.render)
        self.render()
        self._entered(flow.state.screen)  # the first screen is already up: focus it

    # --- running flow actions ------------------------------------------------------------------

    async def _run(
        self,
        screen: ScreenView,
        widgets: list[QWidget],
        action: Callable[[], Awaitable[object]],
    ) -> None:
        # Disabling the focused button moves Qt's focus along; put it back afterwards so a
        # keyboard user stays where they were (unless the action moved to another screen).
        focused = QApplication.focusWidget()
        for widget in widgets:
            widget.setEnabled(False)
        screen.show_message("")
        try:
            await action()
        except KioskError as exc:
            screen.show_message(str(exc))
        except Exception:
            logger.exception("flow_action_failed")
            screen.show_message(UNEXPECTED)
        finally:
            for widget in widgets:
                widget.setEnabled(True)
            if focused is not None and focused.isVisible() and focused.isEnabled():
                focused.setFocus()
            elif (
                focused is not None
                and screen is self._window.interview
                and self._window.stack.currentWidget() is screen
            ):
                # The focused button went while the action ran ("Repeat the question" once
                # answering starts): the answer's own button, not whatever Qt found next
                # ("Call the proctor", "Finish the interview").
                self._window.interview.next_button.setFocus()

    def _run_now(self, screen: ScreenView, action: Callable[[], object]) -> None:
        """A flow action that does not wait (a screen change): errors as in ``_run``."""
        try:
            action()
        except KioskError as exc:
            screen.show_message(str(exc))
        except Exception:
            logger.exception("flow_action_failed")
            screen.show_message(UNEXPECTED)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in INPUT_EVENTS:
            self._flow.note_activity()
        return False  # only watching: every event goes on to its widget

    def _on_open_sign_in(self) -> None:
        self._run_now(self._window.locked, self._flow.open_sign_in)

    def _on_open_exit_pin(self) -> None:
        self._run_now(self._window.locked, self._flow.open_exit_pin)

    def _on_exit_as_proctor(self) -> None:
        self._run_now(self._window.launch, self._flow.exit_as_proctor)

    def _on_lock(self) -> None:
        self._window.sign_in.clear()
        self._window.exit_pin.pin_edit.clear()
        self._window.paused.clear()
        self._flow.lock()

    @asyncSlot()
    async def _on_exit_pin(self) -> None:
        view = self._window.exit_pin
        await self._run(
            view, [view.exit_button], lambda: self._flow.exit_with_pin(view.pin_edit.text())
        )
        view.pin_edit.clear()

    @asyncSlot()
    async def _on_sign_in(self) -> None:
        view = self._window.sign_in
        await self._run(
            view, [view.sign_in_button],
            lambda: self._flow.sign_in(view.email_edit.text(), view.password_edit.text()),
        )  # fmt: skip
        view.password_edit.clear()

    @asyncSlot()
    async def _on_search(self) -> None:
        view = self._window.launch
        await self._run(view, [], lambda: self._flow.find_candidates(view.search_edit.text()))

    @asyncSlot()
    async def _on_launch(self) -> None:
        view = self._window.launch
        row = view.candidate_list.currentRow()
        candidates = self._flow.state.candidates
        if not 0 <= row < len(candidates):
            view.show_message("Choose a candidate first.")
            return
        extra_time = EXTRA_TIME_CHOICES[max(0, view.extra_time_combo.currentIndex())][1]
        await self._run(
            view, [view.launch_button], lambda: self._flow.launch(candidates[row], extra_time)
        )

    @asyncSlot()
    async def _on_resume(self) -> None:
        view = self._window.launch
        resumable = self._flow.state.resumable
        if not resumable:
            return
        self._answer_started = time.monotonic()
        await self._run(
            view, [view.resume_button, view.launch_button], lambda: self._flow.resume(resumable[0])
        )

    def _on_device(self, position: int) -> None:
        devices = self._flow.state.devices
        if 0 <= position < len(devices):
            index = devices[position].index
            self._run_now(self._window.mic_check, lambda: self._flow.select_device(index))

    @asyncSlot()
    async def _on_continue(self) -> None:
        await self._as_proctor(self._flow.continue_after_pause)

    @asyncSlot()
    async def _on_end_paused(self) -> None:
        await self._as_proctor(self._flow.end_after_pause)

    async def _as_proctor(self, action: Callable[[str, str], Awaitable[None]]) -> None:
        """The paused screen's buttons: a proctor's e-mail and password, then ``action``."""
        view = self._window.paused
        await self._run(
            view, [view.continue_button, view.end_button],
            lambda: action(view.email_edit.text(), view.password_edit.text()),
        )  # fmt: skip
        view.password_edit.clear()

    @asyncSlot()
    async def _on_choose(self) -> None:
        view = self._window.choose
        row = view.application_list.currentRow()
        applications = self._flow.state.applications
        if not 0 <= row < len(applications):
            view.show_message("You have no application to choose. Ask the proctor for help.")
            return
        await self._run(
            view, [view.choose_button, view.practice_button],
            lambda: self._flow.choose(application_id=applications[row].id),
        )  # fmt: skip

    @asyncSlot()
    async def _on_practice(self) -> None:
        view = self._window.choose
        role = view.practice_roles.currentText()
        await self._run(
            view, [view.choose_button, view.practice_button],
            lambda: self._flow.choose(role_type=role),
        )  # fmt: skip

    @asyncSlot()
    async def _on_check(self) -> None:
        view = self._window.mic_check
        view.verdict_label.setText("Listening…")
        await self._run(
            view, [view.check_button, view.start_button, view.device_combo],
            self._flow.check_microphone,
        )  # fmt: skip
        state = self._flow.state
        if state.mic_result is None:  # the check failed: no verdict, and no "Listening…"
            view.verdict_label.setText(state.mic_error or "")

    @asyncSlot()
    async def _on_start(self) -> None:
        view = self._window.mic_check
        self._answer_started = time.monotonic()
        await self._run(
            view, [view.start_button, view.check_button, view.device_combo],
            self._flow.start_interview,
        )  # fmt: skip

    @asyncSlot()
    async def _on_next(self) -> None:
        view = self._window.interview
        buttons: list[QWidget] = [view.next_button, view.retry_button, view.finish_button]
        await self._run(view, buttons, self._flow.advance)
        self._answer_started = time.monotonic()
        self._redraw_interview()

    @asyncSlot()
    async def _on_retry(self) -> None:
        view = self._window.interview
        buttons: list[QWidget] = [view.next_button, view.retry_button, view.finish_button]
        await self._run(view, buttons, self._flow.try_again)
        self._redraw_interview()
        if self._flow.state.screen is Screen.INTERVIEW and not view.retry_button.isVisible():
            # "Try again" is gone, so Qt would move the focus on to "Finish the interview":
            # the keyboard stays on the answer's own button ("Finish this answer").
            view.next_button.setFocus()

    @asyncSlot()
    async def _on_repeat(self) -> None:
        view = self._window.interview
        await self._run(view, [view.repeat_button], self._flow.repeat_question)

    def _on_call_proctor(self) -> None:
        view = self._window.stack.currentWidget()
        if isinstance(view, ScreenView):
            self._run_now(view, self._flow.call_proctor)

    def _draw_desk(self, view: ScreenView) -> None:
        """The proctor's side of a candidate screen: a call under way, the proctor coming,
        the proctor's message."""
        bar = getattr(view, "proctor_bar", None)
        if bar is None:
            return
        desk = self._flow.desk
        status = ""
        if desk.calling:
            status = "The proctor has been called. Please wait at your seat."
        elif desk.coming:
            status = "The proctor is on the way."
        if desk.message:
            status = f"Message from the proctor: {desk.message}" + (
                f" ({status})" if status else ""
            )
        bar.show_desk(status, desk.calling)
        if status and status != self._desk_said:
            announce(view, Announcement(status, assertive=True))  # the candidate may not look
        self._desk_said = status

    def _redraw_interview(self) -> None:
        # The clock's phase may have moved while the action ran: its buttons and labels.
        if self._flow.state.screen is Screen.INTERVIEW and self._flow.state.question is not None:
            self._draw_clock()

    @asyncSlot()
    async def _on_finish(self) -> None:
        view = self._window.interview
        view.connection_label.setText("Saving your answers…")
        await self._run(view, [view.next_button, view.finish_button], self._flow.finish)

    # --- drawing -------------------------------------------------------------------------------

    def render(self) -> None:
        state = self._flow.state
        w = self._window
        if state.exit_requested:
            w.allow_close()
            self._on_exit()
            return
        screen = state.screen
        view = {
            Screen.LOCKED: w.locked, Screen.SIGN_IN: w.sign_in, Screen.LAUNCH: w.launch,
            Screen.CHOOSE: w.choose, Screen.MIC_CHECK: w.mic_check,
            Screen.INTERVIEW: w.interview, Screen.DONE: w.done, Screen.EXIT_PIN: w.exit_pin,
            Screen.PAUSED: w.paused,
        }[screen]  # fmt: skip
        if w.stack.currentWidget() is not view:
            w.stack.setCurrentWidget(view)
            view.show_message("")
            self._entered(screen)
        self._draw_desk(view)
        if screen is Screen.PAUSED:
            w.paused.show_reason(state.pause_reason)
        if screen is Screen.LAUNCH and state.candidates is not self._shown_candidates:
            self._show_candidates()
        if screen is Screen.MIC_CHECK:
            w.mic_check.level_meter.setValue(meter_percent(state.mic_level_dbfs))
            if state.mic_result is not None:
                w.mic_check.verdict_label.setText(state.mic_result.verdict)
            elif state.mic_error is not None:
                w.mic_check.verdict_label.setText(state.mic_error)
            self._draw_practice()
        elif screen is Screen.INTERVIEW:
            w.interview.level_meter.setValue(meter_percent(state.mic_level_dbfs))
            question = state.question
            if question is not None:
                w.interview.progress_label.setText(
                    f"Question {question.index + 1} of {question.total}"
                )
                w.interview.question_label.setText(question.text)
                self._draw_clock()
            elif state.questions_complete:
                w.interview.progress_label.setText("All questions answered")
                w.interview.question_label.setText(
                    "That was the last question. Press “Finish the interview”."
                )
                w.interview.next_button.setVisible(False)
                w.interview.retry_button.setVisible(False)
                self._show_repeat(False)
                w.interview.show_clock("", None)

    def _entered(self, screen: Screen) -> None:
        """Fill a screen once, when it comes up."""
        w, state = self._window, self._flow.state
        if screen is Screen.LAUNCH:
            self._show_candidates()
            w.launch.extra_time_combo.setCurrentIndex(0)  # granted per candidate, never carried
            w.launch.show_resume(state.resumable[0].label if state.resumable else "")
        elif screen is Screen.CHOOSE:
            name = state.candidate.full_name if state.candidate else ""
            w.choose.greeting_label.setText(f"Hello, {name}")
            w.choose.show_applications([
                f"{a.job_title} · {a.company} · {a.status}" for a in state.applications
            ])  # fmt: skip
            if not state.applications:
                w.choose.show_message(
                    "You have no applications yet. You can take a practice interview."
                )
        elif screen is Screen.MIC_CHECK:
            w.mic_check.summary_label.setText(self._flow.plan_summary)
            w.mic_check.verdict_label.setText(state.mic_error or "")
            names = [f"{d.name}{' (default)' if d.is_default else ''}" for d in state.devices]
            chosen = [d.index for d in state.devices]
            w.mic_check.show_devices(
                names, chosen.index(state.device) if state.device in chosen else -1
            )
        elif screen is Screen.INTERVIEW:
            w.interview.next_button.setVisible(True)
        elif screen is Screen.DONE:
            minutes, seconds = divmod(round(state.duration_seconds), 60)
            w.done.duration_label.setText(f"You spoke for {minutes} min {seconds:02d} s.")
            self._lock_timer.start(int(self._done_seconds * 1000))
        elif screen is Screen.LOCKED:
            self._lock_timer.stop()
        elif screen is Screen.PAUSED:
            self._window.paused.clear()

        # Where the keyboard starts on each screen.
        first = {
            Screen.LOCKED: w.locked.sign_in_button, Screen.SIGN_IN: w.sign_in.email_edit,
            Screen.LAUNCH: w.launch.search_edit, Screen.CHOOSE: w.choose.application_list,
            Screen.MIC_CHECK: w.mic_check.check_button, Screen.INTERVIEW: w.interview.next_button,
            Screen.EXIT_PIN: w.exit_pin.pin_edit, Screen.PAUSED: w.paused.email_edit,
        }.get(screen)  # fmt: skip
        if first is not None:
            first.setFocus()

    def _show_candidates(self) -> None:
        """The list the proctor picks from is always the latest search's result."""
        candidates = self._flow.state.candidates
        self._shown_candidates = candidates
        self._window.launch.show_candidates([f"{c.full_name} · {c.email}" for c in candidates])

    def _announce(self) -> None:
        """Tell a screen reader what changed on the interview screen (the question, the
        phase, time passing, the connection)."""
        if self._flow.state.screen is not Screen.INTERVIEW:
            self._announcer.reset()
            return
        for said in self._announcer.changes(self._flow.moment()):
            announce(self._window.interview, said)

    def _tick(self) -> None:
        self._flow.check_idle()
        self._announce()
        w, state = self._window, self._flow.state
        if state.screen is Screen.LOCKED:
            w.locked.clock_label.setText(datetime.now().strftime("%H:%M"))
        if state.screen is Screen.INTERVIEW:
            if state.answer is None and not state.questions_complete:
                elapsed = int(time.monotonic() - self._answer_started)
                w.interview.timer_label.setText(f"{elapsed // 60}:{elapsed % 60:02d}")
            w.interview.connection_label.setText(self._connection_text())

    def _draw_clock(self) -> None:
        """The question's clock and the buttons its phase offers."""
        flow, view = self._flow, self._window.interview
        clock = flow.state.answer
        if view.next_button.text() != flow.primary_label:
            view.next_button.setText(flow.primary_label)
        # Never disabled while saving: Qt would move the focus on to "Finish the interview",
        # where the candidate's next Space would end the interview. Pressed meanwhile, it says
        # "Please wait" (the flow's Busy).
        deciding = clock is not None and clock.phase is Phase.DECIDING
        self._show_repeat(flow.can_repeat_question)
        reading = flow.reader is not None and flow.reader.reading
        view.recording_label.setText("Reading the question aloud" if reading else "● Recording")
        view.retry_button.setVisible(deciding)
        if deciding and clock is not None:
            view.retry_button.setText(f"Try again ({clock.takes_left} left)")
        if clock is not None:
            view.show_clock(flow.answer_headline, flow.answer_warning)

    def _draw_practice(self) -> None:
        practice, view = self._flow.practice, self._window.mic_check
        shown = self._flow.can_practice and practice is not None
        if not shown and view.practice_answer_button.hasFocus():
            view.start_button.setFocus()  # never left on a hidden button
        phase = practice.phase if practice is not None else "ready"
        view.show_practice(shown, str(phase), practice is not None and practice.seconds > 0)

    def _on_practice_answer(self) -> None:
        view = self._window.mic_check
        view.show_message("")
        try:
            self._flow.practice_answer()
        except KioskError as exc:
            view.show_message(str(exc))

    def _show_repeat(self, shown: bool) -> None:
        view = self._window.interview
        if not shown and view.repeat_button.hasFocus():
            # Hidden under the keyboard (thinking ran out), Qt would move the focus on to
            # "Finish the interview": it goes to the answer's own button instead.
            view.next_button.setFocus()
        view.repeat_button.setVisible(shown)

    def _connection_text(self) -> str:
        streamer = self._flow.streamer
        if streamer is None:
            return ""
        if streamer.state is StreamState.STREAMING:
            return "Streaming"
        if streamer.state in (StreamState.RECONNECTING, StreamState.CONNECTING):
            return f"Reconnecting · {streamer.unacked_seconds:.0f} s not yet saved"
        if streamer.state is StreamState.FAILED:
            return "Offline: call the proctor"
        return "Saved"
