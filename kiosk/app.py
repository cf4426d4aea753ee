"""``interview-kiosk``: the desktop client's entry point. Objects are built here, once."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk import __version__
from kiosk.core.config import KioskConfig, kiosk_data_dir
from kiosk.core.display import display_problem
from kiosk.core.errors import ConfigError, KioskError
from kiosk.core.tls import client_context

if TYPE_CHECKING:
    from kiosk.ui.views.main_window import MainWindow


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interview-kiosk",
        description="Interview Kiosk client. With no command it runs the kiosk; the options "
        "below are the kiosk's.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", type=Path, help="kiosk.toml to use instead of the default")
    parser.add_argument(
        "--backend-url", help="talk to this backend instead of starting the embedded one"
    )
    parser.add_argument(
        "--windowed", action="store_true", help="an ordinary window instead of full-screen kiosk"
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check the backend (the configured one, else the embedded one), a window and the "
        "audio devices, then exit",
    )
    parser.add_argument(
        "--exit-after", type=float, metavar="SECONDS", help="quit after SECONDS (smoke tests)"
    )
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    stream = commands.add_parser(
        "stream-file",
        help="stream a WAV to an interview with the kiosk's own client (IT checks)",
        description="Stream a mono 16-bit WAV to an interview at real-time pace, with the "
        "kiosk's own client. Run it again after a crash to resume from the spool.",
    )
    stream.add_argument("--interview", required=True, help="the interview id")
    stream.add_argument("--token", required=True, help="the candidate's bearer token")
    stream.add_argument("--wav", required=True, type=Path)
    stream.add_argument("--backend-url", default="http://127.0.0.1:8000")
    stream.add_argument("--spool", type=Path, help="spool directory (default: the user data dir)")
    stream.add_argument("--speed", type=float, default=1.0, help="pace; 2 = twice real time")

    commands.add_parser(
        "hash-pin",
        help="print the argon2 hash of a new exit PIN for kiosk.toml",
        description="Ask for a new exit PIN twice (or, for scripted installs, read it from "
        "stdin) and print its argon2 hash, for exit_pin_hash in kiosk.toml.",
    )
    return parser


def _stream_file(args: argparse.Namespace) -> int:
    import platformdirs

    from kiosk.stream_file import stream_file

    spool = (
        args.spool or Path(platformdirs.user_data_dir("interview-kiosk", appauthor=False)) / "spool"
    )
    return asyncio.run(
        stream_file(args.backend_url, args.interview, args.token, args.wav, spool, args.speed)
    )


def _hash_pin() -> int:
    import getpass

    from kiosk.core.lockdown import hash_pin

    if sys.stdin.isatty():
        pin = getpass.getpass("New exit PIN: ")
        if getpass.getpass("Again: ") != pin:
            print("interview-kiosk: the PINs differ", file=sys.stderr)
            return 2
    else:  # scripted installs: the PIN on stdin
        pin = sys.stdin.readline().strip()
    try:
        print(hash_pin(pin))
    except KioskError as exc:
        print(f"interview-kiosk: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is not None and argv[0] != args.command:
        # A command's own options would silently win over these (--backend-url is both).
        parser.error(f"{args.command} takes its options after it; those before it are the kiosk's")
    if args.command == "stream-file":
        return _stream_file(args)
    if args.command == "hash-pin":
        return _hash_pin()
    try:
        config = KioskConfig.load(args.config)
        # Built once (loading a trust store is slow) and shared by every connection.
        tls = client_context(config.ca_file, config.certificate_pin)
    except ConfigError as exc:
        print(f"interview-kiosk: {exc}", file=sys.stderr)
        return 2
    # The command line wins; otherwise the layered config (/etc, user file, IK_KIOSK_*)
    # says, and None there means the embedded backend.
    backend_url = args.backend_url or config.backend_url
    if args.self_test:
        # A self-test must run on a machine with no screen (installers, CI): draw offscreen
        # unless the caller asked for a platform.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from kiosk.selftest import run_self_test

        return run_self_test(backend_url=backend_url, tls=tls)
    problem = display_problem(os.environ)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    from kiosk.core.lockdown import AlreadyRunning, InstanceLock

    try:
        instance = InstanceLock(kiosk_data_dir(config) / "kiosk.lock").acquire()
    except AlreadyRunning as exc:
        print(f"interview-kiosk: {exc}", file=sys.stderr)
        return 3
    try:
        return _run_kiosk(config, backend_url, tls, args.windowed, args.exit_after)
    finally:
        instance.release()


def _run_kiosk(
    config: KioskConfig,
    backend_url: str | None,
    tls: ssl.SSLContext,
    windowed: bool,
    exit_after: float | None,
) -> int:
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from kiosk.ui.style import apply_style
    from kiosk.ui.views.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    app.setApplicationName("interview-kiosk")
    apply_style(app, config.text_scale, config.theme)
    # Quitting goes through the coroutine so the HTTP client and the embedded backend close on
    # a running loop; Qt stopping its own loop first would strand them.
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    quit_requested = asyncio.Event()
    app.lastWindowClosed.connect(quit_requested.set)
    # SIGTERM (shutdown, the session ending, systemd) quits like the exit PIN does: the
    # embedded backend and the HTTP client close; an unfinished interview keeps its spool for
    # a resume. Python runs the handler when the loop next runs Python code, so a timer
    # wakes it at least every 200 ms.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: loop.call_soon(quit_requested.set))
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(200)

    window = MainWindow(config.kiosk_id, config.test_center, kiosk_mode=not windowed)
    if windowed:
        window.resize(1024, 700)
        window.show()
    else:
        # With no window manager (the kiosk's own X session) full-screen is only a hint;
        # cover the screen explicitly.
        window.setGeometry(app.primaryScreen().geometry())
        window.showFullScreen()
    if exit_after is not None:
        QTimer.singleShot(int(exit_after * 1000), window, quit_requested.set)

    with loop:
        try:
            exit_code: int = loop.run_until_complete(
                _serve(window, config, backend_url, tls, quit_requested)
            )
        except KioskError as exc:
            print(f"interview-kiosk: {exc}", file=sys.stderr)
            return 1
    return exit_code


async def _serve(
    window: MainWindow,
    config: KioskConfig,
    backend_url: str | None,
    tls: ssl.SSLContext,
    quit_requested: asyncio.Event,
) -> int:
    import httpx

    from kiosk.audio.capture import MicrophoneCapture
    from kiosk.audio.devices import list_input_devices
    from kiosk.audio.playback import SpeakerPlayback
    from kiosk.core.api_client import KioskApi
    from kiosk.core.flow import PRACTICE_ROLES, KioskFlow
    from kiosk.ui.controllers.backend_status import BackendStatusController
    from kiosk.ui.controllers.flow_controller import FlowController

    loop = asyncio.get_running_loop()
    embedded = None
    credential = config.kiosk_token
    try:
        if backend_url is None:
            window.show_status("Starting the embedded backend…")
            from kiosk.embedded import start_embedded_backend

            # Off the GUI thread: importing and migrating takes about a second.
            embedded, credential = await loop.run_in_executor(
                None, start_embedded_backend, config.data_dir, config.kiosk_id,
                config.test_center,
            )  # fmt: skip
            backend_url = embedded.url
        async with httpx.AsyncClient(verify=tls) as http:
            api = KioskApi(http, backend_url)
            status = BackendStatusController(window, api)
            status.start()
            flow = KioskFlow(
                api, config, kiosk_data_dir(config) / "spool", MicrophoneCapture,
                list_input_devices, speaker=SpeakerPlayback(), tls=tls,
            )  # fmt: skip
            FlowController(
                window, flow, PRACTICE_ROLES if config.allow_practice else [],
                on_exit=quit_requested.set,
            )  # fmt: skip
            window.choose.practice_row.setVisible(config.allow_practice)
            control = None
            if credential:
                from kiosk.core.control import SeatControl, control_url

                control = SeatControl(
                    flow, control_url(backend_url, config.kiosk_id), credential, tls=tls
                )
                control_task = asyncio.create_task(control.run())
            await quit_requested.wait()
            if control is not None:
                await control.close()
                control_task.cancel()
            await flow.close()
    finally:
        if embedded is not None:
            # Off the GUI thread: stopping joins the server's thread for up to 10 s, and the
            # window must keep painting (and SIGTERM keep being heard) meanwhile.
            await loop.run_in_executor(None, embedded.stop)
    return 0
