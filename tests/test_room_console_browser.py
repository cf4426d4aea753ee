"""The room console in a real browser, watching real kiosks.

Real: Debian's Chromium driven by Playwright; the backend (uvicorn on a thread, SQLite);
three kiosks, each a process of its own running the kiosk's own ``KioskFlow``,
``AudioStreamer`` and ``SeatControl`` (tests/support/headless_kiosk.py) with the seeded
synthetic microphone. One kiosk's audio goes through the cuttable proxy
(tests/support/proxy.py); its control channel does not, so the console can watch its
unacknowledged audio grow while the link is down. Kiosks print each change of their screen
with the time, which is how a command's arrival at the seat is measured.

Set IK_CONSOLE_SCREENSHOTS=DIR to keep the console's screenshots (the README's come from here).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from backend.app.core.config import Settings
from backend.app.models.enums import Role
from backend.app.server import BackgroundServer
from support.api import Actor, Api
from support.proxy import CuttableProxy
from support.room import assign_center, enroll_kiosk

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).parent


class ThreadedProxy:
    """The cuttable proxy on an event loop of its own (this test is synchronous)."""

    def __init__(self, host: str, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.proxy = self._run(CuttableProxy(host, port).start())

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def go_down(self) -> None:
        self.loop.call_soon_threadsafe(self.proxy.go_down)

    def come_back(self) -> None:
        self.loop.call_soon_threadsafe(self.proxy.come_back)

    def close(self) -> None:
        self._run(self.proxy.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)


@dataclass
class Seat:
    kiosk_id: str
    proc: subprocess.Popen[str]
    lines: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    last: dict[str, Any] = field(default_factory=dict)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            if raw.startswith("{"):
                self.lines.put(json.loads(raw))

    def until(self, test: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        """The first line from now on that passes ``test`` (the last seen one counts)."""
        if self.last and test(self.last):
            return self.last
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"{self.kiosk_id} never got there; last: {self.last}"
            try:
                self.last = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if test(self.last):
                return self.last

    def tell(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("console")
    server = BackgroundServer(Settings(data_dir=data, speech_engine="none")).start()
    api = Api(server)
    proctor = api.make_user(Role.PROCTOR, "Pat Proctor")
    assign_center(server.settings, proctor.id, "leeds")
    proxy = ThreadedProxy("127.0.0.1", server.port)
    seats: dict[str, Seat] = {}
    try:
        for number in (1, 2, 3):
            kiosk_id = f"seat-{number}"
            credential = enroll_kiosk(server.settings, kiosk_id, "leeds")
            candidate = api.make_user(Role.CANDIDATE, f"Candidate Number {number}")
            backend = f"http://127.0.0.1:{proxy.proxy.port}" if number == 3 else server.url
            proc = subprocess.Popen(
                [sys.executable, str(HERE / "support" / "headless_kiosk.py"),
                 "--backend-url", backend, "--control-url", f"{server.ws_url}/ws/kiosks/{kiosk_id}",
                 "--kiosk-id", kiosk_id, "--credential", credential,
                 "--proctor", proctor.email, proctor.password, "--candidate", candidate.email,
                 "--spool", str(data / f"spool-{number}")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                env={**os.environ, "PYTHONPATH": str(HERE)},
            )  # fmt: skip
            seat = seats[kiosk_id] = Seat(kiosk_id, proc)
            threading.Thread(target=seat.read, daemon=True).start()
        for seat in seats.values():
            seat.until(lambda line: line["screen"] == "interview", timeout=60)
        yield {"api": api, "server": server, "proctor": proctor, "seats": seats, "proxy": proxy}
    finally:
        for seat in seats.values():
            if seat.proc.poll() is None:
                seat.proc.kill()
            seat.proc.wait()
        proxy.close()
        api.http.close()
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


def sign_in(page: Page, base: str, who: Actor) -> None:
    page.goto(f"{base}/console")
    expect(page).to_have_url(f"{base}/console/sign-in")
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()


def row(page: Page, kiosk_id: str) -> Any:
    return page.locator(f'tr[data-kiosk="{kiosk_id}"]')


def shoot(page: Page, name: str) -> None:
    folder = os.environ.get("IK_CONSOLE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def wait_state(page: Page, kiosk_id: str, states: tuple[str, ...], timeout: float) -> float:
    """Seconds until the seat's row shows one of ``states``."""
    started = time.monotonic()
    page.wait_for_function(
        "([id, states]) => states.includes("
        "document.querySelector(`tr[data-kiosk='${id}']`)?.dataset.state)",
        arg=[kiosk_id, list(states)], timeout=timeout * 1000, polling="raf",
    )  # fmt: skip
    return time.monotonic() - started


def unacked(page: Page, kiosk_id: str) -> float:
    text = row(page, kiosk_id).locator('td[data-field="unacked"]').inner_text()
    return float(text.split()[0])


def test_the_console_watches_every_seat_and_its_hand_reaches_each(
    room: dict[str, Any], chromium: Browser
) -> None:
    base, seats = room["server"].url, room["seats"]
    page = chromium.new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, base, room["proctor"])
    signed_in = time.monotonic()
    live = ("thinking", "answering")
    for kiosk_id in seats:
        wait_state(page, kiosk_id, live, timeout=2)
    shown = time.monotonic() - signed_in
    assert shown < 2, "the console did not show all three within 2 s"
    shoot(page, "console-1-healthy.png")

    # The third seat's audio link is cut: its unacknowledged audio rises on the console...
    room["proxy"].go_down()
    page.wait_for_function(
        "() => parseFloat(document.querySelector(\"tr[data-kiosk='seat-3'] "
        "td[data-field='unacked']\").textContent) >= 3", timeout=15_000)  # fmt: skip
    rising = unacked(page, "seat-3")
    assert rising >= 3
    # Past 5 s it is tinted (amber, then red past 30 s).
    page.wait_for_function(
        "() => parseFloat(document.querySelector(\"tr[data-kiosk='seat-3'] "
        "td[data-field='unacked']\").textContent) > 5", timeout=15_000)  # fmt: skip
    expect(row(page, "seat-3").locator('td[data-field="unacked"]')).to_have_class(
        re.compile(r"\b(warn|bad)\b")
    )
    # ...and falls back to 0 once the link is back.
    room["proxy"].come_back()
    page.wait_for_function(
        "() => parseFloat(document.querySelector(\"tr[data-kiosk='seat-3'] "
        "td[data-field='unacked']\").textContent) === 0", timeout=20_000)  # fmt: skip

    # A kiosk killed outright is shown missing.
    seats["seat-2"].proc.send_signal(signal.SIGKILL)
    missing = wait_state(page, "seat-2", ("missing",), timeout=10)

    # Pause from the console reaches the seat within 1 s; its time left stands still.
    seat1 = seats["seat-1"]
    row(page, "seat-1").get_by_role("button", name="Pause seat-1").click()
    page.get_by_label("Reason").fill("Noise in the room")
    clicked = time.time()
    page.get_by_role("button", name="Pause seat", exact=True).click()
    paused = seat1.until(lambda line: line["screen"] == "paused")
    pause_took = paused["t"] - clicked
    assert pause_took < 1.0, f"pause took {pause_took:.2f} s"
    wait_state(page, "seat-1", ("paused",), timeout=3)
    time.sleep(1.5)  # a paused clock does not move
    row(page, "seat-1").get_by_role("button", name="Resume seat-1").click()
    resumed = seat1.until(lambda line: line["screen"] == "interview")
    assert resumed["seconds_left"] == pytest.approx(paused["seconds_left"], abs=0.15)

    # Extra time granted from the console is recorded with the seat's interview.
    row(page, "seat-1").get_by_role("button", name="Extra time seat-1").click()
    page.get_by_label("Time to think and to answer").select_option("x1.5")
    page.get_by_role("button", name="Grant").click()
    expect(page.locator("#status")).to_have_text(
        "50% more granted at seat-1, from the next question"
    )
    interview_1 = (
        room["api"]
        .request("GET", f"/api/v1/interviews/{resumed['interview_id']}", room["proctor"])
        .json()
    )
    assert interview_1["accommodation"] == "x1.5"

    # An incident filed in the console goes with the seat's interview, and into the day's CSV.
    row(page, "seat-1").get_by_role("button", name="Incident seat-1").click()
    page.get_by_label("Category").select_option("noise")
    page.get_by_label("Note").fill("Drilling next door")
    page.get_by_role("button", name="File incident").click()
    expect(page.locator("#status")).to_have_text(re.compile(r"Incident INC-\w{5} filed for seat-1"))
    reference = page.locator("#status").inner_text().split()[1]
    api, proctor = room["api"], room["proctor"]
    listed = api.request("GET", f"/api/v1/interviews/{resumed['interview_id']}/incidents", proctor)
    assert [(i["reference"], i["category"], i["note"]) for i in listed.json()] == [
        (reference, "noise", "Drilling next door")]  # fmt: skip
    csv_link = page.locator("#incidents-csv").get_attribute("href")
    assert csv_link is not None
    exported = api.request("GET", csv_link, proctor)
    assert reference in exported.text and "Drilling next door" in exported.text

    # Pause all reaches every seat with a session (the killed one has none to pause).
    page.get_by_role("button", name="Pause all").click()
    page.get_by_label("Reason").fill("Fire alarm")
    page.get_by_role("button", name="Pause every seat").click()
    for kiosk_id in ("seat-1", "seat-3"):
        seats[kiosk_id].until(lambda line: line["screen"] == "paused")
        wait_state(page, kiosk_id, ("paused",), timeout=3)

    # "Call the proctor" at a seat raises an alert on the open console within 1 s.
    called = time.monotonic()
    seats["seat-3"].tell("call")
    alert = page.locator("#alerts li[data-alert-id]")
    alert.first.wait_for(timeout=3000)
    call_took = time.monotonic() - called
    assert call_took < 1.0
    expect(row(page, "seat-3")).to_have_class(re.compile(r"\balerting\b"))
    shoot(page, "console-2-alert-and-missing.png")
    page.get_by_role("button", name="Acknowledge alert from seat-3").click()
    expect(alert).to_have_count(0)
    seats["seat-3"].until(lambda line: line["alerts"] == 0 and line["coming"])

    # Ending a session from the console completes the interview and locks the seat.
    interview = seats["seat-3"].last["interview_id"]
    row(page, "seat-3").get_by_role("button", name="End seat-3").click()
    page.get_by_role("button", name="End the session").click()
    seats["seat-3"].until(lambda line: line["screen"] == "locked", timeout=25)
    wait_state(page, "seat-3", ("locked",), timeout=5)
    record = room["api"].request("GET", f"/api/v1/interviews/{interview}", room["proctor"])
    assert record.json()["status"] == "completed"
    # Report (the kiosk's clock) to DOM (the page's), same host: what each update took.
    latencies = sorted(page.evaluate("window.ikConsole.latencies"))
    print(f"\nconsole: all three shown {shown:.2f} s after sign-in; missing {missing:.1f} s "
          f"after SIGKILL; pause at the seat {pause_took * 1000:.0f} ms after the click; "
          f"call on the console {call_took * 1000:.0f} ms after the press; report to DOM "
          f"over {len(latencies)} updates: median {latencies[len(latencies) // 2]:.1f} ms, "
          f"max {latencies[-1]:.1f} ms")  # fmt: skip
    page.close()
