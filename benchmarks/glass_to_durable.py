"""Glass to durable: from the capture callback of a block of microphone audio to the kiosk
receiving the ack that says the backend has fsync'd it (p50/p90/p99/max), while ``--load``
other simulated kiosks stream to the same backend (99 by default: a room of 100 seats).

The path is the kiosk's own: a virtual microphone (tests/support/vmic.py, a private PulseAudio
daemon) plays a tone; kiosk.audio.capture.MicrophoneCapture captures 20 ms blocks on
PortAudio's thread and hands them to the event loop; AudioStreamer journals each to its spool
and sends it over protocol v1 (docs/protocol.md) to a real backend process, which appends,
fsyncs in batches and acks. Product code is not changed: the benchmark wraps sounddevice's
stream constructor (to stamp callbacks) and the streamer's WebSocket (to stamp sends and acks).
It measures and reports; it exits 0 unless it could not run.

    .venv/bin/python benchmarks/glass_to_durable.py --quick   # ~5 s of audio
    .venv/bin/python benchmarks/glass_to_durable.py           # 30 s of audio
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Any

import httpx
from common import ROOT, machine, percentile, run_line, write_results
from stream_capacity import FRAME_SECONDS, Load, Server, _pin, make_targets

import kiosk.core.streamer as streamer_module
from kiosk.audio.capture import BLOCK_FRAMES, SAMPLE_RATE, MicrophoneCapture
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.stream_messages import HEADER
from kiosk.core.streamer import AudioStreamer

# The virtual microphone is test support, not a package; it is the same one the end-to-end
# test uses, so the benchmark and the test exercise one set-up.
sys.path.insert(0, str(ROOT / "tests"))
from support.vmic import VirtualMic

# After capture stops, long enough for the last blocks to be covered by ordinary acks, so
# none of them is timed against the final ack of `end`.
DRAIN_SECONDS = 1.0


@dataclass
class Trace:
    stamps: deque[float] = field(default_factory=deque)  # callback times, not yet delivered
    blocks: list[tuple[float, float, int]] = field(default_factory=list)  # cb, on loop, end
    sends: list[tuple[float, int]] = field(default_factory=list)  # send returned, frame end
    acks: list[tuple[float, int]] = field(default_factory=list)  # arrival, offset
    captured: bytearray = field(default_factory=bytearray)


@contextlib.contextmanager
def stamped_callbacks(sd: Any, stamps: deque[float]) -> Any:
    """Stamp every PortAudio callback before the product's callback runs."""
    real = sd.RawInputStream

    def open_stream(*args: Any, callback: Any, **kwargs: Any) -> Any:
        def stamped(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            stamps.append(time.monotonic())  # deque.append is thread-safe
            callback(indata, frames, time_info, status)

        return real(*args, callback=stamped, **kwargs)

    sd.RawInputStream = open_stream
    try:
        yield
    finally:
        sd.RawInputStream = real


@contextlib.contextmanager
def observed_links(trace: Trace) -> Any:
    """Stamp the streamer's audio frames when send returns, and acks when recv returns them."""
    real = streamer_module.connect

    async def connect(*args: Any, **kwargs: Any) -> Any:
        websocket = await real(*args, **kwargs)
        send, recv = websocket.send, websocket.recv

        async def timed_send(message: Any, *rest: Any, **kw: Any) -> None:
            await send(message, *rest, **kw)
            if isinstance(message, bytes):
                (offset,) = HEADER.unpack_from(message)
                trace.sends.append((time.monotonic(), offset + len(message) - HEADER.size))

        async def timed_recv(*rest: Any, **kw: Any) -> Any:
            message = await recv(*rest, **kw)
            now = time.monotonic()
            if isinstance(message, str):
                parsed = json.loads(message)
                if parsed.get("type") == "ack":
                    trace.acks.append((now, int(parsed["offset"])))
            return message

        # The receive loop iterates the connection, and its __aiter__ calls self.recv.
        websocket.send, websocket.recv = timed_send, timed_recv
        return websocket

    streamer_module.connect = connect
    try:
        yield
    finally:
        streamer_module.connect = real


def tone(path: Path, seconds: float) -> Path:
    subprocess.run(
        ["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
         str(path), "synth", f"{seconds:.1f}", "sine", "440", "vol", "0.5"],
        check=True,
    )  # fmt: skip
    return path


async def new_interview(base_url: str) -> tuple[str, str, str]:
    """A candidate and a planned interview: (token, ws_url, interview_id)."""
    email, password = f"bench-{uuid.uuid4().hex[:12]}@example.com", uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        body = {"email": email, "password": password, "full_name": "Bench Kiosk"}
        (await http.post("/api/v1/auth/register", json=body)).raise_for_status()
        login = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
        token = login.raise_for_status().json()["access_token"]
        planned = await http.post(
            "/api/v1/interviews/plan",
            headers={"Authorization": f"Bearer {token}"},
            json={"role_type": "python"},
        )
        ws_url = planned.raise_for_status().json()["ws_url"]
    return token, ws_url, ws_url.rsplit("/", 1)[1]


async def stream(seconds: float, workdir: Path, load_kiosks: int) -> tuple[Trace, dict[str, Any]]:
    server = Server("ours", workdir)
    mic: VirtualMic | None = None
    player: subprocess.Popen[bytes] | None = None
    runner: asyncio.Task[None] | None = None
    trace = Trace()
    try:
        server.wait_listening()
        token, ws_url, interview_id = await new_interview(server.base_url)
        load: Load | None = None
        if load_kiosks:
            # The room: other kiosks stream for the whole measurement and a little longer.
            targets = await make_targets(server, load_kiosks)
            frames = int((seconds + DRAIN_SECONDS + 8) / FRAME_SECONDS)
            spread = [i * FRAME_SECONDS / load_kiosks for i in range(load_kiosks)]
            load = Load(targets, os.urandom(SAMPLE_RATE * 2), frames, spread, 2)
            await load.ready()
            load.go()
        headers = {"Authorization": f"Bearer {token}"}
        mic = VirtualMic().start()
        # PortAudio reads the pulse set-up once, when sounddevice is imported: env first.
        os.environ.update(mic.env)
        import sounddevice

        spool = Spool(workdir / "spool", SpoolInfo(interview_id, ws_url, SAMPLE_RATE))
        streamer = AudioStreamer(spool, token, "bench-kiosk", "bench")
        digest = hashlib.sha256()

        def sink(block: bytes) -> None:
            # What kiosk/core/flow.py's _on_interview_block does for the stream: feed it.
            on_loop, stamp = time.monotonic(), trace.stamps.popleft()
            before = streamer.captured_end
            streamer.feed(block)
            if streamer.captured_end > before:  # feed drops blocks that come after `end`
                trace.blocks.append((stamp, on_loop, streamer.captured_end))
                trace.captured += block
                digest.update(block)

        with observed_links(trace), stamped_callbacks(sounddevice, trace.stamps):
            # Connected before capture starts (the kiosk flow opens both at once): blocks
            # captured before `ready` would time the connection set-up, not the steady path.
            runner = asyncio.create_task(streamer.run())
            await asyncio.wait_for(streamer.wait_ready(), 30)
            player = mic.feed(tone(workdir / "tone.wav", seconds + 5))
            capture = MicrophoneCapture(sink)
            capture.start(asyncio.get_running_loop())
            try:
                await asyncio.sleep(seconds)
            finally:
                capture.stop()
            if not trace.blocks:
                raise RuntimeError(f"nothing captured: {capture.error or 'no callbacks'}")
            await asyncio.sleep(DRAIN_SECONDS)
            completed = await asyncio.wait_for(streamer.end(), 30) or {}
            await runner
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            served = await http.get(f"/api/v1/interviews/{interview_id}/recording", headers=headers)
        served.raise_for_status()
        with wave.open(io.BytesIO(served.content)) as wav:
            recorded = wav.readframes(wav.getnframes())
        others: dict[str, Any] = {"kiosks": 0}
        if load is not None:
            results, _cpu = await load.results()
            others = {
                "kiosks": len(results),
                "errors": sum(1 for r in results if r.error),
                "loss_bytes": sum(r.sent_bytes - r.durable_bytes for r in results),
                "sha256_mismatches": sum(1 for r in results if not r.error and not r.sha_match),
                "ack_lag_p99_ms": percentile([lag for r in results for lag in r.lags_ms], 99),
            }
        check = {
            "captured_bytes": len(trace.captured),
            "durable_bytes": completed.get("audio_bytes"),
            "sha256_match": completed.get("sha256") == digest.hexdigest(),
            "wav_equals_captured": recorded == bytes(trace.captured),
            "input_overflows": capture.overflows,
            "reconnects": streamer.reconnects,
            "other_kiosks": others,
        }
        return trace, check
    finally:
        if runner is not None and not runner.done():
            runner.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await runner
        if player is not None and player.poll() is None:
            player.terminate()
            player.wait(5)
        if mic is not None:
            mic.stop()
        server.stop()


def _first_covering(events: list[tuple[float, int]]) -> Callable[[int], float | None]:
    """For a stream offset: the time of the first event (in order) whose offset reaches it."""
    reach = list(accumulate((offset for _, offset in events), max))

    def at(end: int) -> float | None:
        i = bisect_left(reach, end)
        return events[i][0] if i < len(events) else None

    return at


def _stats(values: list[float], qs: tuple[int, ...] = (50, 99)) -> dict[str, float | None]:
    stats: dict[str, float | None] = {f"p{q}": percentile(values, q) for q in qs}
    stats["max"] = round(max(values), 1) if values else None
    return stats


def analyse(trace: Trace, seconds: float, check: dict[str, Any]) -> dict[str, Any]:
    total, to_loop, to_send, send_to_ack, unacked = [], [], [], [], 0
    sent_at, acked_at = _first_covering(trace.sends), _first_covering(trace.acks)
    for stamp, on_loop, end in trace.blocks:
        sent, acked = sent_at(end), acked_at(end)
        if sent is None or acked is None:
            unacked += 1
            continue
        total.append((acked - stamp) * 1000)
        to_loop.append((on_loop - stamp) * 1000)
        to_send.append((sent - stamp) * 1000)
        send_to_ack.append((acked - sent) * 1000)
    # Per frame: from the callback of the block that completed it (a kiosk capturing 100 ms
    # blocks would have that callback, and nothing to wait for, as the frame's own).
    completed_by = {end: stamp for stamp, _, end in trace.blocks}
    frames = []
    for _, end in trace.sends:
        stamp, acked = completed_by.get(end), acked_at(end)
        if stamp is not None and acked is not None:
            frames.append((acked - stamp) * 1000)
    stamps = [stamp for stamp, _, _ in trace.blocks]
    # Only acks that moved the offset: the final ack of `end` repeats the last one.
    ack_times = [b[0] for a, b in pairwise([(0.0, 0), *trace.acks]) if b[1] > a[1]]
    sizes = Counter(b[2] - a[2] for a, b in pairwise(trace.blocks))
    block_bytes = sizes.most_common(1)[0][0] if sizes else trace.blocks[0][2]
    return {
        "seconds": seconds,
        "blocks": len(trace.blocks),
        "blocks_without_ack": unacked,
        "block_bytes": block_bytes,
        "block_ms": round(block_bytes / 2 / SAMPLE_RATE * 1000, 1),
        "glass_to_durable_ms": _stats(total, (50, 90, 99)),
        "frames": len(frames),
        "frame_to_durable_ms": _stats(frames, (50, 90, 99)),
        "callback_to_loop_ms": _stats(to_loop),
        "callback_to_send_ms": _stats(to_send),
        "send_to_ack_ms": _stats(send_to_ack),
        "callback_gap_ms": _stats([(b - a) * 1000 for a, b in pairwise(stamps)]),
        "acks": len(ack_times),
        "ack_gap_ms": _stats([(b - a) * 1000 for a, b in pairwise(ack_times)]),
        # Where the longest wait for an ack ended, in seconds after the first block.
        "ack_gap_max_at_s": round(
            max(pairwise(ack_times), key=lambda ab: ab[1] - ab[0])[1] - stamps[0], 2
        )
        if len(ack_times) > 1 and stamps
        else None,
        **check,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


# --- the section of docs/benchmarks.md (benchmarks/report.py calls this) ----------------------


def render_markdown(data: dict[str, Any], source: str) -> list[str]:
    params = data["params"]
    lines = [
        "## Glass to durable",
        "",
        "How long after the microphone hands the kiosk a block of audio the kiosk holds an ack "
        "saying the backend has fsync'd it. A virtual microphone (a private PulseAudio daemon) "
        f"plays a tone for {params['seconds']:g} s; the kiosk's own `MicrophoneCapture` and "
        "`AudioStreamer` capture, journal and stream it to one real backend process, while "
        f"{params.get('load_kiosks', 0)} simulated kiosks (`stream_capacity.py`'s, in two "
        "load-generator processes) stream to the same process. Per "
        "block: the first ack covering its last byte minus the start of its PortAudio "
        "callback. Callbacks, sends and acks are stamped by wrapping sounddevice and the "
        "WebSocket from the benchmark; no product code is changed.",
        "",
        run_line(data, source),
        "",
        "| Blocks | Block (ms) | p50 (ms) | p90 (ms) | p99 (ms) | Max (ms) | "
        "Frame filled → ack p50 / p99 / max (ms) | "
        "Callback → send p50 / p99 (ms) | Send → ack p50 / p99 (ms) | Acks | "
        "Durable bytes | Bytes equal |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in data["rows"]:
        total, send, ack = r["glass_to_durable_ms"], r["callback_to_send_ms"], r["send_to_ack_ms"]
        frame = r.get("frame_to_durable_ms") or {"p50": None, "p99": None, "max": None}
        equal = "yes" if r["sha256_match"] and r["wav_equals_captured"] else "**no**"
        lines.append(
            f"| {r['blocks']} | {r['block_ms']:g} | {_ms(total['p50'])} | {_ms(total['p90'])} | "
            f"{_ms(total['p99'])} | {_ms(total['max'])} | {_ms(frame['p50'])} / "
            f"{_ms(frame['p99'])} / {_ms(frame['max'])} | {_ms(send['p50'])} / "
            f"{_ms(send['p99'])} | {_ms(ack['p50'])} / {_ms(ack['p99'])} | {r['acks']} | "
            f"{r['durable_bytes']} | {equal} |"
        )
    lines += [
        "",
        "The server acks each stream the moment the journal fsync covering its audio returns "
        "(group commit across every seat). Callback → send is the kiosk's share (hand-off to "
        "the event loop, spool append, WebSocket send); send → ack is the network, the "
        "server's append, the wait for the fsync in flight and its own. The microphone hands "
        f"over {data['rows'][0]['block_ms']:g} ms blocks and the kiosk sends 100 ms frames "
        "(kiosk/core/streamer.py): a block waits for its frame to fill, up to 80 ms, and that "
        'wait is in callback → send. "Frame filled → ack" times each frame from the '
        "callback of the block that completed it: what a kiosk capturing 100 ms blocks would "
        "measure per callback (its samples would have waited in PortAudio's buffer instead). "
        '"Bytes equal": the `completed` sha256 and the served WAV both match what was captured.',
        "",
    ]
    others = data["rows"][0].get("other_kiosks") or {}
    if others.get("kiosks"):
        lines += [
            f"The other {others['kiosks']} kiosks: {others['errors']} errors, loss "
            f"{others['loss_bytes']} bytes, {others['sha256_mismatches']} sha256 mismatches, "
            f"ack lag p99 {_ms(others['ack_lag_p99_ms'])} ms.",
            "",
        ]
    return lines


def text_summary(row: dict[str, Any], params: dict[str, Any]) -> list[str]:
    total, send, ack = row["glass_to_durable_ms"], row["callback_to_send_ms"], row["send_to_ack_ms"]
    frame = row["frame_to_durable_ms"]
    return [
        f"glass to durable: {row['blocks']} blocks of {row['block_ms']:g} ms, {row['seconds']:g} s",
        f"  callback -> ack   p50 {_ms(total['p50'])}  p90 {_ms(total['p90'])}  "
        f"p99 {_ms(total['p99'])}  max {_ms(total['max'])} ms",
        f"  frame filled -> ack p50 {_ms(frame['p50'])}  p99 {_ms(frame['p99'])}  "
        f"max {_ms(frame['max'])} ms ({row['frames']} frames)",
        f"  callback -> send  p50 {_ms(send['p50'])}  p99 {_ms(send['p99'])} ms",
        f"  send -> ack       p50 {_ms(ack['p50'])}  p99 {_ms(ack['p99'])} ms",
        f"  acks: {row['acks']} (gap between acks p50 {_ms(row['ack_gap_ms']['p50'])} ms); "
        f"other kiosks: {row.get('other_kiosks')}",
        f"  bytes: captured {row['captured_bytes']}, durable {row['durable_bytes']}, "
        f"sha256 match {row['sha256_match']}, WAV equal {row['wav_equals_captured']}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description="Glass-to-durable latency benchmark.")
    parser.add_argument("--quick", action="store_true", help="about 5 s of audio")
    parser.add_argument("--seconds", type=float, help="seconds of audio to capture")
    parser.add_argument("--out", type=Path, help="results file (default benchmarks/results/)")
    parser.add_argument("--load", type=int, help="other simulated kiosks (default 99; quick 9)")
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 30.0)
    load = args.load if args.load is not None else (9 if args.quick else 99)
    pinning = _pin(True)  # the server on a core of its own, as in stream_capacity

    started, at_start = datetime.now(UTC), machine()
    try:
        with tempfile.TemporaryDirectory(prefix="ik-bench-") as tmp:
            trace, check = asyncio.run(stream(seconds, Path(tmp), load))
    except Exception as exc:
        print(f"glass_to_durable: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    row = analyse(trace, seconds, check)
    total = row["glass_to_durable_ms"]
    frame = row["frame_to_durable_ms"]
    summary = {"p50_ms": total["p50"], "p99_ms": total["p99"]}
    summary["frame_p50_ms"], summary["frame_p99_ms"] = frame["p50"], frame["p99"]
    summary["bytes_equal"] = row["sha256_match"] and row["wav_equals_captured"]
    params = {
        "seconds": seconds,
        "sample_rate": SAMPLE_RATE,
        "capture_block_frames": BLOCK_FRAMES,
        "load_kiosks": load,
        "cpus": pinning,
        "drain_seconds": DRAIN_SECONDS,
        "source": "virtual microphone (PulseAudio), 440 Hz sox tone",
    }
    mode = "quick" if args.quick else "full"
    body = {"mode": mode, "machine": at_start, "params": params, "summary": summary, "rows": [row]}
    out = write_results("glass_to_durable", started, body, args.out)

    print("\n".join(text_summary(row, params)))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
