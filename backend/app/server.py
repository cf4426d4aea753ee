"""Running the app under uvicorn: in the foreground (the service) or on a background thread
(the kiosk's embedded backend and the test harness use the very same code path)."""

from __future__ import annotations

import socket
import ssl
import threading
import time

import uvicorn

from backend.app.core.config import Settings
from backend.app.core.migrate import upgrade_to_head
from backend.app.core.proxies import TrustedProxies
from backend.app.main import create_app


def _uvicorn_config(
    settings: Settings, host: str, port: int, log_level: str, service: bool = False
) -> uvicorn.Config:
    return uvicorn.Config(
        # Forwarded headers are believed from IK_TRUSTED_PROXIES only (core/proxies.py).
        TrustedProxies(create_app(settings), settings.trusted_proxies),
        host=host,
        port=port,
        log_level=log_level,
        # The service (`serve`, many seats) takes uvloop and httptools when the `server` extra
        # is installed (CPU per seat, docs/benchmarks.md); the embedded backend shares the
        # kiosk's process and stays on the standard library's loop and h11.
        loop="auto" if service else "asyncio",
        http="auto" if service else "h11",
        # PCM does not compress; deflate would only cost CPU on every audio frame.
        ws_per_message_deflate=False,
        # Protocol v1: pings every 10 s, a peer silent for 20 s is dropped; frames are at most
        # 8 + 65536 bytes, so anything far larger is refused by uvicorn itself (close 1009).
        ws_ping_interval=10.0,
        ws_ping_timeout=20.0,
        ws_max_size=1 << 20,
        proxy_headers=False,  # TrustedProxies applies them
        # None: plain HTTP (loopback, or nginx terminates TLS); uvicorn loads the files once.
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
        server_header=False,
        access_log=False,  # RequestContextMiddleware logs each request, with its id
    )


class TlsFilesUnusable(Exception):
    """IK_TLS_CERT_FILE / IK_TLS_KEY_FILE cannot be loaded as a certificate and its key."""


def check_tls_files(settings: Settings) -> None:
    """Load the TLS files once before serving, so a wrong path or a key that does not match
    the certificate is one sentence at start rather than a traceback from uvicorn."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            settings.tls_cert_file, settings.tls_key_file
        )
    except OSError as exc:  # ssl.SSLError is one
        reason = exc.strerror or getattr(exc, "reason", None) or str(exc)
        raise TlsFilesUnusable(
            f"IK_TLS_CERT_FILE {settings.tls_cert_file} with IK_TLS_KEY_FILE "
            f"{settings.tls_key_file}: cannot be used as a certificate and its key ({reason})"
        ) from None


def serve_forever(settings: Settings, host: str, port: int, migrate: bool = True) -> None:
    """Migrate (unless told not to) and serve until interrupted."""
    if migrate:
        upgrade_to_head(settings)
    uvicorn.Server(_uvicorn_config(settings, host, port, settings.log_level, service=True)).run()


class BackgroundServer:
    """A real uvicorn server on a thread of its own, bound to a free loopback port.

    The socket is bound before the thread starts, so ``url`` is known at once and no other
    process can take the port in between.
    """

    def __init__(self, settings: Settings, host: str = "127.0.0.1", migrate: bool = True) -> None:
        self.settings = settings
        self._migrate = migrate
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self.host, self.port = self._socket.getsockname()[:2]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.serves_tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.settings.serves_tls else "ws"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        if self._migrate:
            upgrade_to_head(self.settings)
        config = _uvicorn_config(self.settings, self.host, self.port, "warning")
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[self._socket]), name="backend", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError("embedded backend exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"embedded backend did not start within {timeout:.0f} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
