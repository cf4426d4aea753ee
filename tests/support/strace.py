"""Run a process under strace and read back the file-system calls it made, with the paths
behind each file descriptor (``-y``), wall-clock start times comparable with ``time.time()``
(``-ttt``) and durations (``-T``), so a test can check what reached the disk, when, and from
which thread.

Only the traced calls stop the process (``--seccomp-bpf``): a streaming process runs at
nearly full speed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

FILE_CALLS = ("openat", "fsync", "fdatasync", "rename", "renameat", "renameat2", "unlink",
              "unlinkat")  # fmt: skip

_LINE = re.compile(r"^(\d+)\s+(\d+\.\d+) (.*)$")
_CALL = re.compile(r"^(\w+)\((.*)\)\s+= (.*?)(?: <(\d+\.\d+)>)?$")
_UNFINISHED = re.compile(r"^(\w+)\((.*) <unfinished \.\.\.>$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)\)\s+= (.*?)(?: <(\d+\.\d+)>)?$")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_FIRST_FD_PATH = re.compile(r"^\d+<(.*?)>")


def require_strace() -> str:
    """strace's path; a missing strace skips locally and fails under `make test`."""
    path = shutil.which("strace")
    if path is None:
        message = "strace is not installed (make test installs it)"
        if os.environ.get("IK_REQUIRE_VMIC") == "1":
            pytest.fail(message)
        pytest.skip(f"!!! SKIPPED: {message}")
    return path


def strace_prefix(output: Path, calls: tuple[str, ...] = FILE_CALLS) -> list[str]:
    """Put before a command to trace it, and every thread and child it starts, to ``output``."""
    return [require_strace(), "-f", "--seccomp-bpf", "-ttt", "-T", "-y",
            "-e", f"trace={','.join(calls)}", "-o", str(output)]  # fmt: skip


@dataclass(frozen=True)
class Syscall:
    tid: int
    at: float  # when the call began, on the time.time() clock
    name: str
    args: str
    result: str
    seconds: float  # spent in the call

    @property
    def done_at(self) -> float:
        return self.at + self.seconds

    @property
    def fd_path(self) -> str | None:
        """The path of the file descriptor in the first argument (fsync(5</a/b>))."""
        match = _FIRST_FD_PATH.match(self.args)
        return match.group(1) if match else None

    @property
    def paths(self) -> list[str]:
        """The path arguments (openat's, rename's source and target, unlink's)."""
        return _QUOTED.findall(self.args)

    @property
    def ok(self) -> bool:
        return not self.result.startswith(("-1", "?"))


def read_trace(path: Path) -> list[Syscall]:
    """The calls in an ``strace -f -ttt -T -y`` output file, in the order they began; a call
    another thread interrupted (``<unfinished ...>``) is joined with its ``resumed`` part.
    The first call is the traced command's main thread's."""
    calls: list[Syscall] = []
    unfinished: dict[int, tuple[float, str, str]] = {}
    for line in path.read_text(errors="replace").splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        tid, at, rest = int(match.group(1)), float(match.group(2)), match.group(3)
        if started := _UNFINISHED.match(rest):
            unfinished[tid] = (at, started.group(1), started.group(2))
        elif resumed := _RESUMED.match(rest):
            if tid in unfinished:
                began, name, args = unfinished.pop(tid)
                calls.append(Syscall(tid, began, name, args + resumed.group(2),
                                     resumed.group(3), float(resumed.group(4) or 0)))  # fmt: skip
        elif whole := _CALL.match(rest):
            calls.append(Syscall(tid, at, whole.group(1), whole.group(2), whole.group(3),
                                 float(whole.group(4) or 0)))  # fmt: skip
    return sorted(calls, key=lambda call: call.at)  # stable: the main thread's first stays first


def start_traced_backend(
    data_dir: Path, trace: Path, calls: tuple[str, ...] = FILE_CALLS
) -> tuple[subprocess.Popen[bytes], int]:
    """``python -m backend serve`` over ``data_dir`` under strace, once /health answers: the
    strace process and the backend's port. Stop it with ``stop_traced``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    proc = subprocess.Popen(
        [*strace_prefix(trace, calls), sys.executable, "-m", "backend", "serve", "--port",
         str(port)],
        env={**os.environ, "IK_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60  # traced, start-up takes longer
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return proc, port
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "backend did not start"
        time.sleep(0.1)


def stop_traced(strace: subprocess.Popen[bytes]) -> None:
    """End the traced command (SIGTERM: it shuts down cleanly); strace then ends too."""
    children = Path(f"/proc/{strace.pid}/task/{strace.pid}/children").read_text().split()
    for child in children:
        os.kill(int(child), signal.SIGTERM)
    strace.wait(30)
