"""One view per screen of the flow. Layout only: no decisions, no network, no timers.

Every interactive widget has an accessible name, and each screen is usable by keyboard alone
(tab order follows the layout; Return or Space presses the focused button, and Return in a
form's last field submits it). The controller puts the focus where each screen starts.
"""

from __future__ import annotations

import structlog
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.practice import PRACTICE_QUESTION
from kiosk.ui.icons import icon

logger = structlog.get_logger(__name__)
PRIMARY_TEXT = "#ffffff"  # on the blue buttons (resources/styles/kiosk.qss)
IDLE_EXPLANATION = (
    "Nothing happened here for a while, so the session is paused and the proctor has been "
    "called. Please wait."
)


def _font(points: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSize(points)
    font.setBold(bold)
    return font


def _label(text: str = "", points: int = 14, bold: bool = False, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setFont(_font(points, bold))
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)  # for tests and style sheets; a screen reader reads the text
    return label


def _button(text: str, name: str, icon_name: str = "", icon_color: str = "#1f2328") -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)  # its accessible name is its text, whatever the text becomes
    button.setMinimumHeight(44)
    button.setFont(_font(14))
    # Return presses the focused button, as Space does (Qt does that only inside dialogs).
    button.setAutoDefault(True)
    if icon_name:
        button.setIcon(icon(icon_name, icon_color))
        button.setIconSize(QSize(22, 22))
    return button


def _meter(name: str) -> QProgressBar:
    meter = QProgressBar()
    meter.setObjectName(name)
    meter.setAccessibleName("Microphone level")
    meter.setAccessibleDescription("How loud the microphone hears you now")
    meter.setRange(0, 100)
    meter.setTextVisible(False)
    return meter


def _row(*widgets: QWidget) -> QWidget:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget)
    holder = QWidget()
    holder.setLayout(row)
    return holder


class ProctorBar(QWidget):
    """On every screen a candidate sits at: "Call the proctor", and what the proctor said."""

    def __init__(self) -> None:
        super().__init__()
        self.status_label = _label(points=13, name="proctor_status_label")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.call_button = _button("Call the proctor", "call_proctor_button")
        self.call_button.setAccessibleDescription(
            "Ask the proctor to come to this seat; nothing else changes"
        )
        self.call_button.setAutoDefault(False)  # Return stays with the screen's main button
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.status_label, 1)
        row.addWidget(self.call_button)

    def show_desk(self, status: str, calling: bool) -> None:
        self.status_label.setText(status)
        text = "Proctor called" if calling else "Call the proctor"
        if self.call_button.text() != text:
            self.call_button.setText(text)


class ScreenView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.message_label = _label(points=13, name="message_label")
        self.message_label.setStyleSheet("color: #b3261e;")  # errors: the one red on screen
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(120, 60, 120, 60)
        self._column.setSpacing(16)

    def _add(self, *widgets: QWidget) -> None:
        for widget in widgets:
            self._column.addWidget(widget)

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)

    def _add_proctor_bar(self, last: QWidget) -> ProctorBar:
        """The bar goes on top, and last in the keyboard's order (after ``last``), so the
        screen's own controls come first."""
        bar = ProctorBar()
        self._column.insertWidget(0, bar)
        QWidget.setTabOrder(last, bar.call_button)
        return bar


class LockedView(ScreenView):
    def __init__(self, kiosk_id: str, test_center: str) -> None:
        super().__init__()
        self.title_label = _label("Interview Kiosk", 32, True, "title_label")
        self.place_label = _label(f"{test_center} · kiosk {kiosk_id}", 14, name="place_label")
        self.clock_label = _label(points=20, name="clock_label")
        self.backend_label = _label(points=11, name="backend_label")
        self.status_label = _label(points=11, name="status_label")
        self.sign_in_button = _button("Proctor sign-in", "sign_in_button", "lock", PRIMARY_TEXT)
        self.sign_in_button.setAccessibleDescription(
            "A proctor signs in here to start a candidate's session"
        )
        self.exit_button = _button("Exit", "exit_button")
        self.exit_button.setAccessibleDescription("Leave kiosk mode; asks for the exit PIN")
        self.exit_button.setMaximumWidth(120)
        self._column.addStretch(1)
        self._add(self.title_label, self.place_label, self.clock_label, self.sign_in_button,
                  self.message_label)  # fmt: skip
        self._column.addStretch(1)
        self._add(self.backend_label, self.status_label)
        self._column.addWidget(self.exit_button, 0, Qt.AlignmentFlag.AlignRight)
        self._painted = False

    def paintEvent(self, event: QPaintEvent) -> None:
        # One line when the kiosk's first screen is first drawn: what "started" means to a
        # person at the seat, timed by benchmarks/kiosk_startup.py from outside the process.
        # The locked screen is the first screen, and the kiosk has one, so: once a process.
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            logger.info("first_paint", screen="locked")


class SignInView(ScreenView):
    def __init__(self) -> None:
        super().__init__()
        self.heading = _label("Proctor sign-in", 24, True)
        self.email_edit = QLineEdit()
        self.email_edit.setPlaceholderText("Email")
        self.email_edit.setAccessibleName("Proctor email")
        self.email_edit.setAccessibleDescription("The signing-in proctor's email")
        self.password_edit = QLineEdit()
        self.password_edit.setPlaceholderText("Password")
        self.password_edit.setAccessibleName("Proctor password")
        self.password_edit.setAccessibleDescription("The signing-in proctor's password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in_button = _button("Sign in", "submit_sign_in_button")
        self.sign_in_button.setAccessibleDescription("Sign in with the email and password above")
        self.sign_in_button.setDefault(True)
        self.cancel_button = _button("Cancel", "cancel_sign_in_button")
        self.cancel_button.setAccessibleDescription("Back to the locked screen")
        self._column.addStretch(1)
        self._add(self.heading, self.email_edit, self.password_edit, self.sign_in_button,
                  self.cancel_button, self.message_label)  # fmt: skip
        self._column.addStretch(1)

    def clear(self) -> None:
        self.email_edit.clear()
        self.password_edit.clear()


class LaunchView(ScreenView):
    def __init__(self) -> None:
        super().__init__()
        self.heading = _label("Launch a candidate's session", 24, True)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search candidates by name or email")
        self.search_edit.setAccessibleName("Candidate search")
        self.search_edit.setAccessibleDescription(
            "Type part of a candidate's name or email to narrow the list"
        )
        self.candidate_list = QListWidget()
        self.candidate_list.setAccessibleName("Candidates")
        self.candidate_list.setAccessibleDescription(
            "The candidate whose session to launch at this seat"
        )
        # An accommodation the proctor grants: it stretches every think and answer limit.
        self.extra_time_combo = QComboBox()
        self.extra_time_combo.setAccessibleName("Extra time")
        self.extra_time_combo.setAccessibleDescription(
            "Extra time granted to this candidate: it stretches every time limit"
        )
        self.launch_button = _button("Launch session", "launch_button", "user", PRIMARY_TEXT)
        self.launch_button.setAccessibleDescription("Hand the seat to the chosen candidate")
        # Shown only when a crash left an interview unfinished on this kiosk.
        self.resume_button = _button("", "resume_button")
        self.resume_button.setAccessibleDescription(
            "Continue the interview that was interrupted at this seat"
        )
        self.resume_button.setVisible(False)
        self.lock_button = _button("Lock the kiosk", "lock_button", "lock")
        self.lock_button.setAccessibleDescription("Sign out and lock the kiosk")
        self.exit_kiosk_button = _button("Exit kiosk mode", "exit_kiosk_button")
        self.exit_kiosk_button.setAccessibleDescription("Close the kiosk program (proctors only)")
        self._add(self.heading, self.resume_button, self.search_edit, self.candidate_list,
                  self.extra_time_combo, self.launch_button, self.lock_button,
                  self.exit_kiosk_button, self.message_label)  # fmt: skip

    def show_resume(self, text: str) -> None:
        self.resume_button.setText(text)
        self.resume_button.setVisible(bool(text))

    def show_candidates(self, lines: list[str]) -> None:
        self.candidate_list.clear()
        self.candidate_list.addItems(lines)
        self.candidate_list.setCurrentRow(0)


class ChooseView(ScreenView):
    def __init__(self) -> None:
        super().__init__()
        self.greeting_label = _label(points=26, bold=True, name="greeting_label")
        self.prompt_label = _label("Choose the job you are interviewing for.", 14)
        self.application_list = QListWidget()
        self.application_list.setAccessibleName("Your applications")
        self.application_list.setAccessibleDescription("The job you are interviewing for today")
        self.choose_button = _button("Start with this application", "choose_button")
        self.choose_button.setAccessibleDescription(
            "Go on to the microphone check for the chosen job"
        )
        self.practice_roles = QComboBox()
        self.practice_roles.setAccessibleName("Practice role")
        self.practice_roles.setAccessibleDescription("The kind of role for a practice interview")
        self.practice_button = _button("Practice interview", "practice_button")
        self.practice_button.setAccessibleDescription(
            "A practice interview for the chosen role; it is not sent to any employer"
        )
        practice = QHBoxLayout()
        practice.addWidget(self.practice_roles, 1)
        practice.addWidget(self.practice_button)
        self._add(self.greeting_label, self.prompt_label, self.application_list, self.choose_button)
        self.practice_row = QWidget()
        self.practice_row.setLayout(practice)
        self._add(self.practice_row, self.message_label)
        self.proctor_bar = self._add_proctor_bar(self.practice_button)

    def show_applications(self, lines: list[str]) -> None:
        self.application_list.clear()
        self.application_list.addItems(lines)
        self.application_list.setCurrentRow(0)


class MicCheckView(ScreenView):
    def __init__(self) -> None:
        super().__init__()
        self.summary_label = _label(points=20, bold=True, name="summary_label")
        self.instructions = _label(
            "Let's check your microphone. Press Check, then read this aloud: "
            "“I am ready for my interview today.”", 14)  # fmt: skip
        self.device_combo = QComboBox()
        self.device_combo.setObjectName("device_combo")
        self.device_combo.setAccessibleName("Microphone")
        self.device_combo.setAccessibleDescription("Which microphone to use")
        self.level_meter = _meter("check_level_meter")
        self.check_button = _button("Check my microphone (5 seconds)", "check_button", "microphone")
        self.check_button.setAccessibleDescription(
            "Listens for 5 seconds while you read the sentence aloud, then says if you are heard"
        )
        self.verdict_label = _label(points=16, name="verdict_label")
        # After the check: answer a practice question and hear it back (never recorded).
        self.practice_label = _label(points=14, name="practice_label")
        self.practice_answer_button = _button("", "practice_answer_button", "speaker")
        self.practice_answer_button.setAccessibleDescription(
            "Answer a practice question and hear it played back; nothing of it is kept"
        )
        self.show_practice(False, "ready", False)
        self.start_button = _button(
            "Start the interview", "start_button", "arrow-right", PRIMARY_TEXT
        )
        self.start_button.setAccessibleDescription("Begin the interview's first question")
        # Narrow margins and the last two buttons side by side: at text_scale 1.5 on a
        # 1366x768 screen everything still shows, practice answer included.
        self._column.setContentsMargins(120, 30, 120, 30)
        self._column.addStretch(1)
        self._add(self.summary_label, self.instructions, self.device_combo, self.level_meter,
                  self.check_button, self.verdict_label, self.practice_label,
                  _row(self.practice_answer_button, self.start_button),
                  self.message_label)  # fmt: skip
        self._column.addStretch(1)
        self.proctor_bar = self._add_proctor_bar(self.start_button)

    def show_practice(self, shown: bool, phase: str, practised: bool) -> None:
        """``phase``: ready, recording or playing (kiosk.core.practice.PracticePhase)."""
        texts = {
            "ready": ("Practice an answer (up to 10 s)", f"Want to hear how you sound? Practice "
                      f"question: “{PRACTICE_QUESTION}” Nothing you say is kept."),
            "recording": ("Stop and play it back", f"Answer now: “{PRACTICE_QUESTION}”"),
            "playing": ("Stop playing", "This is how you sound to the reviewers."),
        }  # fmt: skip
        button, label = texts[phase]
        if phase == "ready" and practised:
            button, label = "Practice again", "Your practice answer was not kept. Start when ready."
        if self.practice_answer_button.text() != button:
            self.practice_answer_button.setText(button)
        self.practice_label.setText(label)
        self.practice_label.setVisible(shown)
        self.practice_answer_button.setVisible(shown)

    def show_devices(self, names: list[str], current: int) -> None:
        """Fill the picker without announcing a change (the choice is the user's to make)."""
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItems(names)
        self.device_combo.setCurrentIndex(current)
        self.device_combo.blockSignals(False)


class InterviewView(ScreenView):
    def __init__(self) -> None:
        super().__init__()
        self.progress_label = _label(points=14, name="progress_label")
        self.question_label = _label(points=28, bold=True, name="question_label")
        self.timer_label = _label(points=18, name="timer_label")
        self.recording_label = _label("● Recording", 13, name="recording_label")
        self.recording_label.setStyleSheet("color: #b3261e;")
        self.connection_label = _label(points=12, name="connection_label")
        self.level_meter = _meter("interview_level_meter")
        self.warning_label = _label(points=16, bold=True, name="warning_label")
        # The main step: "Start answering", "Finish this answer", "Keep this answer" (or
        # "Next question" when the server sets no rules).
        self.next_button = _button("Next question", "next_button", "arrow-right", PRIMARY_TEXT)
        self.next_button.setAccessibleDescription(
            "The next step of this question: start answering, finish the answer, or keep it"
        )
        self.next_button.setDefault(True)
        # Shown while the question may be heard again (read aloud, before answering).
        self.repeat_button = _button("Repeat the question", "repeat_button", "speaker")
        self.repeat_button.setAccessibleDescription(
            "Read the question aloud again; the time to think waits while it is read"
        )
        self.repeat_button.setVisible(False)
        self.retry_button = _button("Try again", "retry_button", "arrow-right")
        self.retry_button.setAccessibleDescription(
            "Answer this question again; the answer you keep is the one reviewers hear"
        )
        self.retry_button.setVisible(False)
        self.finish_button = _button("Finish the interview", "finish_button", "check")
        self.finish_button.setAccessibleDescription("End the interview now and save every answer")
        # The question gets the room: where it stands in one row at the top, the buttons in
        # one row below (in reading order, which is also the keyboard's), narrow margins.
        # At text_scale 1.5 on a 1366x768 screen the longest question still fits.
        self._column.setContentsMargins(120, 30, 120, 30)
        # "Call the proctor" shares the top row: the question needs every line below it.
        self.proctor_bar = ProctorBar()
        self._add(_row(self.progress_label, self.recording_label, self.connection_label,
                       self.proctor_bar))  # fmt: skip
        self._column.addStretch(1)
        self._add(self.question_label)
        self._column.addStretch(1)
        self._add(self.timer_label, self.warning_label, self.level_meter,
                  _row(self.next_button, self.repeat_button, self.retry_button,
                       self.finish_button),
                  self.message_label)  # fmt: skip
        QWidget.setTabOrder(self.finish_button, self.proctor_bar.call_button)

    def show_clock(self, headline: str, warning: int | None) -> None:
        """The countdown, calm until 30 s are left, then amber, then red at 10 s."""
        self.timer_label.setText(headline)
        color = {30: "#8a5a00", 10: "#b3261e"}.get(warning or 0, "")
        self.timer_label.setStyleSheet(f"color: {color};" if color else "")
        self.warning_label.setStyleSheet(f"color: {color};" if color else "")
        self.warning_label.setText(f"{warning} seconds left" if warning else "")


class DoneView(ScreenView):
    def __init__(self) -> None:
        super().__init__()
        self.thanks_label = _label("Thank you. Your interview is complete.", 28, True)
        self.duration_label = _label(points=16, name="duration_label")
        self.next_label = _label("This kiosk will lock itself in a few seconds.", 13)
        self._column.addStretch(1)
        self._add(self.thanks_label, self.duration_label, self.next_label)
        self._column.addStretch(1)


class ExitPinView(ScreenView):
    def __init__(self) -> None:
        super().__init__()
        self.heading = _label("Leave kiosk mode", 24, True)
        self.pin_edit = QLineEdit()
        self.pin_edit.setPlaceholderText("Exit PIN")
        self.pin_edit.setAccessibleName("Exit PIN")
        self.pin_edit.setAccessibleDescription("The PIN that lets IT staff leave kiosk mode")
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.exit_button = _button("Exit", "confirm_exit_button")
        self.exit_button.setAccessibleDescription("Leave kiosk mode with the PIN above")
        self.exit_button.setDefault(True)
        self.cancel_button = _button("Cancel", "cancel_exit_button")
        self.cancel_button.setAccessibleDescription("Back to the locked screen")
        self._column.addStretch(1)
        self._add(self.heading, self.pin_edit, self.exit_button, self.cancel_button,
                  self.message_label)  # fmt: skip
        self._column.addStretch(1)


class PausedView(ScreenView):
    """A candidate screen left idle: the session waits for the proctor."""

    def __init__(self) -> None:
        super().__init__()
        self.heading = _label("Paused", 28, True, "paused_heading")
        self.explanation = _label(IDLE_EXPLANATION, 16, name="paused_explanation")
        self.email_edit = QLineEdit()
        self.email_edit.setPlaceholderText("Proctor email")
        self.email_edit.setAccessibleName("Proctor email")
        self.email_edit.setAccessibleDescription("The signing-in proctor's email")
        self.password_edit = QLineEdit()
        self.password_edit.setPlaceholderText("Proctor password")
        self.password_edit.setAccessibleName("Proctor password")
        self.password_edit.setAccessibleDescription("The signing-in proctor's password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.continue_button = _button("Continue the session", "continue_button", "pause")
        self.continue_button.setAccessibleDescription(
            "A proctor signs in above to continue where the candidate was"
        )
        self.continue_button.setDefault(True)
        self.end_button = _button("End the session", "end_session_button")
        self.end_button.setAccessibleDescription(
            "A proctor signs in above to end the session; what was recorded is kept"
        )
        self._column.addStretch(1)
        self._add(self.heading, self.explanation, self.email_edit, self.password_edit,
                  self.continue_button, self.end_button, self.message_label)  # fmt: skip
        self._column.addStretch(1)
        self.proctor_bar = self._add_proctor_bar(self.end_button)

    def show_reason(self, reason: str | None) -> None:
        """Why the session waits: the proctor's reason, or the seat going idle."""
        self.explanation.setText(
            IDLE_EXPLANATION
            if reason is None
            else f"The proctor paused the session: {reason}. Please wait."
        )

    def clear(self) -> None:
        self.email_edit.clear()
        self.password_edit.clear()
