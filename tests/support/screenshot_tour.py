"""Walk the kiosk through every screen on a real X server and save a PNG of each.

Run by tests/test_screenshots.py (and `make screenshots`, which writes to docs/screenshots):
    python screenshot_tour.py BACKEND_URL PROCTOR_EMAIL PROCTOR_PASSWORD CANDIDATE_EMAIL OUT_DIR
The microphone is a generated signal (a tone with pauses) so the meters have something to show.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import qasync
from PySide6.QtWidgets import QApplication

from kiosk.audio.devices import InputDevice
from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.flow import KioskFlow, Screen
from kiosk.ui.controllers.flow_controller import FlowController
from kiosk.ui.style import apply_style
from kiosk.ui.views.main_window import MainWindow


class ToneCapture:
    """20 ms blocks: 300 ms of a 220 Hz tone at about -20 dBFS, then 300 ms of faint hiss."""

    def __init__(self, on_block: Callable[[bytes], None], device: int | None = None) -> None:
        self._on_block = on_block
        self._task: asyncio.Task[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._task = loop.create_task(self._run())

    async def _run(self) -> None:
        n = 0
        while True:
            voiced = (n // 15) % 2 == 0
            samples = [
                int(3200 * math.sin(2 * math.pi * 220 * (n * 320 + i) / 16000)) if voiced
                else (i * 7919 % 61) - 30
                for i in range(320)
            ]  # fmt: skip
            self._on_block(struct.pack("<320h", *samples))
            n += 1
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


class SilentSpeaker:
    """The tour's seat has no sound server: a sound takes its time and is heard by nobody.
    (The real speaker is tested on the virtual one, tests/test_kiosk_read_aloud.py.)"""

    def __init__(self) -> None:
        self._playing: asyncio.Future[None] | None = None

    async def play(self, pcm: bytes, rate: int) -> None:
        self.stop()
        self._playing = asyncio.ensure_future(asyncio.sleep(len(pcm) / 2 / rate))
        with contextlib.suppress(asyncio.CancelledError):
            await self._playing

    def stop(self) -> None:
        if self._playing is not None:
            self._playing.cancel()


APP_NAME = "interview-kiosk-tour"
# Set by tests/test_screenshots.py under a private D-Bus session with Qt's AT-SPI bridge on:
# each screen's accessibility tree is written beside its picture, as a screen reader reads it.
a11y_dir = os.environ.get("IK_A11Y_DIR", "")


async def read_aloud(path: Path) -> None:
    """The screen's accessibility tree, read by another process (Debian's Python has
    pyatspi); awaited without blocking, so this loop keeps answering the reader."""
    with path.open("wb") as sink:
        reader = await asyncio.create_subprocess_exec(
            "/usr/bin/python3", str(Path(__file__).with_name("atspi_dump.py")), APP_NAME,
            stdout=sink, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _out, err = await reader.communicate()
    if reader.returncode != 0:
        raise RuntimeError(f"reading {path.stem} over AT-SPI failed: {err.decode()[-500:]}")


async def listen_for_announcements(
    path: Path,
) -> tuple[asyncio.subprocess.Process, asyncio.Future[None]]:
    """What the kiosk announces to a screen reader, heard over AT-SPI into ``path``."""
    sink = path.open("wb")
    listener = await asyncio.create_subprocess_exec(
        "/usr/bin/python3", str(Path(__file__).with_name("atspi_listen.py")),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert listener.stdout is not None
    ready = await asyncio.wait_for(listener.stdout.readline(), 15)
    assert ready.strip() == b"ready", ready

    async def copy() -> None:
        assert listener.stdout is not None
        async for line in listener.stdout:
            sink.write(line)
            sink.flush()
        sink.close()

    return listener, asyncio.ensure_future(copy())


async def tour(window: MainWindow, args: list[str]) -> None:
    backend_url, proctor_email, proctor_password, candidate_email, out = args
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient() as http:
        flow = KioskFlow(
            KioskApi(http, backend_url),
            KioskConfig.from_mapping({"kiosk_id": "seat-07", "test_center": "Leeds"}, "tour"),
            Path(tempfile.mkdtemp()),
            ToneCapture,
            # A typical seat's inputs, for the picker in the picture (the tone is the audio).
            lambda: [
                InputDevice(0, "Built-in Audio Analog Stereo", 2, 48000.0, False),
                InputDevice(1, "USB Headset Mono", 1, 16000.0, True),
            ],
            speaker=SilentSpeaker(),
        )
        FlowController(window, flow, ["python", "sales", "product"], done_seconds=60)

        async def shot(name: str) -> None:
            await asyncio.sleep(0.6)
            window.grab().save(str(out_dir / f"{name}.png"))
            if a11y_dir:
                await read_aloud(Path(a11y_dir) / f"{name}.jsonl")
            print(name, flush=True)

        listener = None
        if a11y_dir:
            listener = await listen_for_announcements(Path(a11y_dir) / "announcements.jsonl")
        await shot("1-locked")
        flow.open_sign_in()
        window.sign_in.email_edit.setText(proctor_email)
        await shot("2-proctor-sign-in")
        await flow.sign_in(proctor_email, proctor_password)
        await shot("3-launch")
        candidate = next(c for c in flow.state.candidates if c.email == candidate_email)
        await flow.launch(candidate)
        await shot("4-choose-application")
        await flow.choose(application_id=flow.state.applications[0].id)
        await flow.check_microphone(seconds=2.5)
        await shot("5-microphone-check")
        assert flow.practice is not None
        flow.practice_answer()  # the practice answer: speaking...
        await asyncio.sleep(1.5)
        await shot("5b-practice-answer")
        flow.practice_answer()  # ...and hearing it back
        while flow.practice.phase != "ready":
            await asyncio.sleep(0.05)
        await flow.start_interview()
        await asyncio.sleep(0.3)
        assert flow.reader is not None and flow.reader.reading
        await shot("6a-question-read-aloud")
        while flow.reader.reading:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)
        await shot("6-interview")  # thinking
        await flow.start_answering()
        await asyncio.sleep(1.5)
        await shot("6b-answering")  # with the 30 s warning
        await flow.finish_answer()
        await shot("6c-keep-or-retry")
        await flow.keep_answer()
        for _ in range(50):  # the server asks the next question
            if flow.state.question is not None and flow.state.question.index == 1:
                break
            await asyncio.sleep(0.1)
        while flow.reader.reading:  # listening to a question is not being away
            await asyncio.sleep(0.05)
        flow.idle_seconds = 0.0  # as if the candidate walked away
        assert flow.check_idle()
        window.paused.email_edit.setText(proctor_email)
        await shot("8-paused")
        await flow.continue_after_pause(proctor_email, proctor_password)
        assert flow.state.screen is Screen.INTERVIEW
        flow.idle_seconds = 600.0
        await flow.next_question()
        await flow.finish()
        await shot("7-done")
        assert flow.state.screen is Screen.DONE
        flow.lock()
        flow.open_exit_pin()
        await shot("9-exit-pin")
        if listener is not None:
            await asyncio.sleep(0.5)  # the last announcements on their way
            process, copying = listener
            process.terminate()
            await process.wait()
            await copying


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)  # how the AT-SPI reader finds it
    apply_style(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow("seat-07", "Leeds test center")
    window.resize(1366, 768)
    window.show()
    with loop:
        loop.run_until_complete(tour(window, sys.argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
