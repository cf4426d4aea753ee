"""What every benchmark shares: the machine and commit it ran on, percentiles, /proc readings
of another process, and the results file. Benchmarks are programs that measure and report;
none of this asserts anything."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (q in 0..100, steps of 0.1), rounded to 0.1; None when empty."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1], 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its finished, waited-for children: no)."""
    # Fields 14 and 15 (utime, stime) counted after the ")" that ends the command name.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kib(pid: int, key: str) -> int:
    """A kB field of /proc/PID/status (VmRSS, VmHWM, ...); 0 when absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM (write 5 to clear_refs) so a peak excludes setup; False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": list(os.getloadavg()),
    }


def git_commit() -> str:
    """The commit measured, "-dirty" when tracked files differ from it: a figure must not
    be credited to a commit whose code it did not run (results/ itself is not tracked)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--abbrev=7", "--dirty"],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def write_results(
    benchmark: str, started: datetime, body: dict[str, Any], out: Path | None = None
) -> Path:
    """Write {benchmark, date, git_commit, machine, **body} to benchmarks/results/NAME-TS.json.

    `started` must be timezone-aware (UTC). Pass "machine": machine() in `body`, taken
    before the run, so its load average is the one at the start. The name's prefix before
    the first "-" is what report.py groups by, so benchmark names use underscores only."""
    report = {
        "benchmark": benchmark,
        "date": started.isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": machine(),
        **body,
    }
    path = out or RESULTS_DIR / f"{benchmark}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_line(data: dict[str, Any], source: str) -> str:
    """The sentence every docs section opens its figures with: when, what, on what."""
    machine = data["machine"]
    loadavg = ", ".join(f"{x:.2f}" for x in machine.get("loadavg_at_start", []))
    return (
        f"Run {data['date']} ({data['mode']} mode) at commit `{data['git_commit']}` on "
        f"{machine['cpu_count']} x {machine['cpu_model'] or 'unknown CPU'}, Python "
        f"{machine['python']}; load average at start {loadavg}. Source: `{source}`."
    )
