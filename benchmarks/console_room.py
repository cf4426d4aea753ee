"""The room console under a full room: 200 simulated seats reporting every 2 s.

A backend process (`interview-backend serve`, SQLite, pinned to core 0) has N enrolled kiosks
in one test center. This process (pinned to core 1, with the browser) opens N control
channels with the kiosks' own credentials and sends each seat's `report` every 2 s (spread
evenly over the 2 s, as real kiosks drift apart), stamped with the time it was sent. Two
phases of S seconds each:

1. no console open: the backend's CPU for N seats reporting (the reference: what the channel
   alone costs);
2. one console open in Debian's Chromium (Playwright), signed in as the room's proctor: the
   backend's CPU again, and every update's latency from the report's `sent_at` to the page
   having drawn it (the page's `window.ikConsole.latencies`: its clock minus the seat's, one
   host, one clock).

It measures and reports; it asserts nothing and exits 0 unless it could not run at all.

    .venv/bin/python benchmarks/console_room.py --quick   # 50 seats, 10 s a phase
    .venv/bin/python benchmarks/console_room.py           # 200 seats, 30 s a phase
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from common import ROOT, cpu_seconds, free_port, percentile, run_line, stop_process, write_results
from websockets.asyncio.client import ClientConnection, connect

CHROMIUM = "/usr/bin/chromium"
REPORT_SECONDS = 2.0
sys.path.insert(0, str(ROOT))


async def _setup(data_dir: Path, seats: int) -> tuple[dict[str, str], str, str]:
    """Enroll the seats and a proctor of their test center; (credentials, email, password)."""
    from backend.app.core.config import Settings
    from backend.app.core.db import create_engine, create_sessionmaker
    from backend.app.models.enums import Role
    from backend.app.services.auth import create_user
    from backend.app.services.kiosks import enroll

    settings = Settings(data_dir=data_dir)
    engine = create_engine(settings)
    credentials: dict[str, str] = {}
    password = "bench-" + os.urandom(6).hex()
    try:
        async with create_sessionmaker(engine)() as session:
            for n in range(1, seats + 1):
                kiosk = f"seat-{n:03d}"
                credentials[kiosk] = await enroll(session, kiosk, "bench", "Benchmark hall")
            await create_user(session, "proctor@bench.test", password, "Bench Proctor",
                              Role.PROCTOR, test_center_id="bench")  # fmt: skip
    finally:
        await engine.dispose()
    return credentials, "proctor@bench.test", password


async def _seat(url: str, kiosk: str, credential: str, offset: float, stop: asyncio.Event,
                sent: list[int]) -> None:  # fmt: skip
    async with connect(url, additional_headers={"Authorization": f"Bearer {credential}"},
                       open_timeout=30) as ws:  # fmt: skip
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "version": "bench"}))
        await ws.recv()
        drain = asyncio.create_task(_drain(ws))
        try:
            await _report(ws, kiosk, offset, stop, sent)
        finally:
            drain.cancel()


async def _report(
    ws: ClientConnection, kiosk: str, offset: float, stop: asyncio.Event, sent: list[int]
) -> None:
    rng = random.Random(kiosk)
    await asyncio.sleep(offset)
    left = 180.0
    while not stop.is_set():
        left = max(0.0, left - REPORT_SECONDS)
        await ws.send(json.dumps({
            "type": "report", "sent_at": time.time() * 1000,
            "state": "answering" if rng.random() < 0.6 else "thinking",
            "candidate": f"Candidate {kiosk}", "posting": "Platform Engineer, Northwind",
            "question_index": 2, "question_total": 5, "seconds_left": left,
            "mic_dbfs": round(rng.uniform(-50, -12), 1),
            "unacked_seconds": round(rng.uniform(0, 0.5), 2), "reconnects": 0,
            "version": "bench", "alerts": [],
        }))  # fmt: skip
        sent[0] += 1
        await asyncio.sleep(REPORT_SECONDS)


async def _drain(ws: ClientConnection) -> None:
    with contextlib.suppress(Exception):  # closed at the end of the run
        async for _message in ws:
            pass


async def _phase(pid: int, seconds: float) -> float:
    """The backend's CPU over ``seconds``, as % of one core."""
    before, start = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return 100.0 * (cpu_seconds(pid) - before) / (time.monotonic() - start)


def run(seats: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ik-console-bench-") as tmp:
        data_dir = Path(tmp)
        from backend.app.core.config import Settings
        from backend.app.core.migrate import upgrade_to_head

        upgrade_to_head(Settings(data_dir=data_dir))  # runs its own event loop
        credentials, email, password = asyncio.run(_setup(data_dir, seats))
        port = free_port()
        backend = subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-m", "backend", "serve", "--port", str(port),
             "--no-migrate"],
            env={**os.environ, "IK_DATA_DIR": str(data_dir), "IK_LOG_LEVEL": "warning"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        os.sched_setaffinity(0, {1})  # the seats and the browser: the other core
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            return asyncio.run(_measure(base, backend.pid, credentials, email, password, seconds))
        finally:
            stop_process(backend)  # type: ignore[arg-type]


async def _measure(
    base: str, pid: int, credentials: dict[str, str], email: str, password: str, seconds: float
) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    seats = len(credentials)
    ws_base = base.replace("http://", "ws://")
    stop, sent = asyncio.Event(), [0]
    tasks = [
        asyncio.create_task(_seat(f"{ws_base}/ws/kiosks/{kiosk}", kiosk, credential,
                                  REPORT_SECONDS * i / seats, stop, sent))
        for i, (kiosk, credential) in enumerate(credentials.items())
    ]  # fmt: skip
    await asyncio.sleep(REPORT_SECONDS + 1)  # every seat connected and reporting
    idle_cpu = await _phase(pid, seconds)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        await page.goto(f"{base}/console/sign-in")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_function("() => document.body.dataset.ready === '1'")
        rows = await page.locator("tr[data-kiosk]").count()
        await asyncio.sleep(REPORT_SECONDS)  # past the first snapshot's burst
        await page.evaluate("window.ikConsole.latencies.length = 0")
        sent_before = sent[0]
        console_cpu = await _phase(pid, seconds)
        sent_during = sent[0] - sent_before
        latencies: list[float] = await page.evaluate("window.ikConsole.latencies")
        await browser.close()
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "seats": seats, "rows_shown": rows, "phase_seconds": seconds,
        "reports_during_console": sent_during, "updates_measured": len(latencies),
        "latency_ms": {"p50": percentile(latencies, 50), "p90": percentile(latencies, 90),
                       "p99": percentile(latencies, 99),
                       "max": round(max(latencies), 1) if latencies else None},
        "backend_cpu_percent": {"no_console": round(idle_cpu, 1),
                                "one_console": round(console_cpu, 1)},
    }  # fmt: skip


def render_markdown(data: dict[str, Any], source: str) -> list[str]:
    """The "## Room console" section of docs/benchmarks.md (benchmarks/report.py calls this)."""
    r = data["results"]
    cpu, latency = r["backend_cpu_percent"], r["latency_ms"]
    per_seat = cpu["one_console"] / r["seats"]
    return [
        "## Room console",
        "",
        f"{r['seats']} simulated seats of one test center, each a control channel "
        "(`/ws/kiosks/{id}`, the kiosks' own credentials) sending its `report` every 2 s, "
        "spread evenly over the 2 s; the backend (`interview-backend serve`, SQLite) pinned to "
        "core 0, the seats and the browser to core 1. The backend's CPU is measured for "
        f"{r['phase_seconds']:g} s with no console open (what the channels cost alone), then "
        f"{r['phase_seconds']:g} s with one console open in Debian's Chromium (Playwright), "
        "where every update's latency is taken from the report's `sent_at` (the seat's clock) "
        "to the page having drawn the row (the page's clock; one host).",
        "",
        run_line(data, source),
        "",
        "| Seats | Rows shown | Reports in the window | Updates measured | Report → DOM p50 "
        "(ms) | p90 (ms) | p99 (ms) | Max (ms) | Backend CPU, no console (% of a core) | "
        "Backend CPU, one console (%) | Per seat (% of a core) |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        f"| {r['seats']} | {r['rows_shown']} | {r['reports_during_console']} | "
        f"{r['updates_measured']} | {latency['p50']} | {latency['p90']} | {latency['p99']} | "
        f"{latency['max']} | {cpu['no_console']} | {cpu['one_console']} | {per_seat:.3f} |",
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description="The room console under a full room.")
    parser.add_argument("--quick", action="store_true", help="50 seats, 10 s a phase")
    parser.add_argument("--seats", type=int, help="simulated seats (default 200; quick 50)")
    parser.add_argument("--seconds", type=float, help="each phase (default 30; quick 10)")
    parser.add_argument("--out", type=Path, help="results file (default benchmarks/results/)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print("console_room: cannot run: chromium missing (make test-system-deps)", file=sys.stderr)
        return 2
    seats = args.seats or (50 if args.quick else 200)
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    started = datetime.now(UTC)
    from common import machine

    at_start = machine()
    results = run(seats, seconds)
    path = write_results("console_room", started, {
        "mode": "quick" if args.quick else "full", "machine": at_start,
        "params": {"seats": seats, "seconds": seconds}, "results": results,
    }, args.out)  # fmt: skip
    r = results
    print(
        f"console_room: {r['seats']} seats, {r['rows_shown']} rows shown; report to DOM "
        f"p50 {r['latency_ms']['p50']} ms, p99 {r['latency_ms']['p99']} ms over "
        f"{r['updates_measured']} updates; backend CPU {r['backend_cpu_percent']} -> {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
