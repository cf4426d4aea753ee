"""Debian's nginx on loopback with the configuration the package ships
(packaging/nginx/interview-kiosk.conf), its three backend addresses replaced by the test's."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from support.backend_process import free_port

SHIPPED = Path(__file__).resolve().parents[2] / "packaging" / "nginx" / "interview-kiosk.conf"
SHIPPED_PORTS = (8001, 8002, 8003)


def available() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()


def site_config(backend_ports: list[int], listen_port: int) -> str:
    """The shipped site with the test's backends and listening port."""
    text = SHIPPED.read_text()
    assert len(backend_ports) == len(SHIPPED_PORTS)
    for shipped, port in zip(SHIPPED_PORTS, backend_ports, strict=True):
        text, count = re.subn(rf"\b127\.0\.0\.1:{shipped}\b", f"127.0.0.1:{port}", text)
        assert count == 3, f"port {shipped} should be in all three upstreams"
    text, count = re.subn(r"listen 80;", f"listen 127.0.0.1:{listen_port};", text)
    assert count == 1
    return text


class Nginx:
    def __init__(self, backend_ports: list[int]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ik-nginx-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (self.dir / "interview-kiosk.conf").write_text(site_config(backend_ports, self.port))
        # As root, nginx's workers would drop to `nobody`, which cannot reach this directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = " ".join(
            f"{kind}_temp_path {self.dir / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (self.dir / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {self.dir / 'nginx.pid'};\n"
            f"error_log {self.dir / 'error.log'} warn;\n"
            "events { worker_connections 1024; }\n"
            f"http {{ access_log off; {temp}\n"
            f"include {self.dir / 'interview-kiosk.conf'}; }}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen(
            [binary, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
             "-e", str(self.dir / "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nginx did not start: {self.error_log()}") from None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown: open streams are cut
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
