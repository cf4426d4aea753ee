"""A kiosk without a window, in a process of its own: the kiosk's own ``KioskFlow``,
``AudioStreamer`` and ``SeatControl`` against a real backend, with the seeded synthetic
microphone. A test can SIGKILL it like a crashed workstation.

    python tests/support/headless_kiosk.py --backend-url URL --control-url WS_URL \\
        --kiosk-id seat-1 --credential ikk_... --proctor EMAIL PASSWORD --candidate EMAIL \\
        --spool DIR

It signs the proctor in, launches the candidate's practice interview and streams. It prints
one JSON line per change of the seat (``{"t": epoch seconds, "screen": ..., ...}``) and reads
commands on stdin, one per line: ``call`` (the candidate presses "Call the proctor").
Run with ``PYTHONPATH=tests`` (for ``support``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import httpx

from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.control import SeatControl
from kiosk.core.flow import KioskFlow
from kiosk.core.seat_report import seat_report
from support.capture import SyntheticMic


def _say(flow: KioskFlow) -> None:
    report = seat_report(flow)
    line = {"t": time.time(), "screen": str(flow.state.screen), "state": report["state"],
            "seconds_left": report["seconds_left"], "alerts": len(report["alerts"]),
            "coming": flow.desk.coming, "message": flow.desk.message,
            "interview_id": report["interview_id"]}  # fmt: skip
    print(json.dumps(line), flush=True)


async def main(args: argparse.Namespace) -> None:
    config = KioskConfig.from_mapping({"kiosk_id": args.kiosk_id, "idle_minutes": 600}, "test")
    async with httpx.AsyncClient(timeout=30) as http:
        flow = KioskFlow(KioskApi(http, args.backend_url), config, Path(args.spool),
                         SyntheticMic(seed=hash(args.kiosk_id) % 1000))  # fmt: skip
        control = SeatControl(flow, args.control_url, args.credential)
        channel = asyncio.create_task(control.run())
        flow.open_sign_in()
        await flow.sign_in(*args.proctor)
        await flow.find_candidates(args.candidate)
        candidate = next(c for c in flow.state.candidates if c.email == args.candidate)
        await flow.launch(candidate)
        await flow.choose(role_type="python")
        await flow.start_interview()
        flow.subscribe(lambda: _say(flow))
        _say(flow)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().strip():
            if line == "call":
                flow.call_proctor()
            elif line == "say":
                _say(flow)
        channel.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend-url", required=True)
    parser.add_argument("--control-url", required=True)
    parser.add_argument("--kiosk-id", required=True)
    parser.add_argument("--credential", required=True)
    parser.add_argument("--proctor", nargs=2, required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--spool", required=True)
    asyncio.run(main(parser.parse_args()))
