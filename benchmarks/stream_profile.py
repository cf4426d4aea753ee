"""Where our server's time goes while it streams: a py-spy profile of one stream-capacity step.

It runs the step of benchmarks/stream_capacity.py (N simulated kiosks at real-time pace against
a fresh `interview-backend serve`) with py-spy attached to the server for the streaming part,
and summarises the samples: Python self time by library or backend file, by function, and the
inclusive time of each backend function. A profiled step runs a little slower than an
unprofiled one, so its figures are not mixed into the capacity table; this is a separate run.

    .venv/bin/python benchmarks/stream_profile.py --n 200 --seconds 20
    .venv/bin/python benchmarks/stream_profile.py --quick          # N 10, 3 s
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import RESULTS_DIR, machine, write_results
from stream_capacity import run_step


def _frame_area(frame: str) -> str:
    # A py-spy raw frame reads "function (file.py:line)", the file relative to its sys.path
    # entry: "backend/app/...", "websockets/frames.py", "asyncio/events.py", "selectors.py".
    path = frame.rsplit("(", 1)[-1].split(":", 1)[0]
    if path.startswith("backend/"):
        return path
    return path.split("/", 1)[0]


def summarize_profile(path: Path, top: int = 12) -> dict[str, Any]:
    """Self time by library or backend file, self time by function, and inclusive time of
    each backend function, as % of the samples in which the server was running Python."""
    self_area: dict[str, int] = {}
    self_func: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaf = frames[-1]
        area = _frame_area(leaf)
        self_area[area] = self_area.get(area, 0) + count
        name = f"{leaf.split(' (', 1)[0]} [{area}]"
        self_func[name] = self_func.get(name, 0) + count
        for ours in {f for f in frames if "(backend/" in f}:
            key = f"{ours.split(' (', 1)[0]} [{_frame_area(ours)}]"
            inclusive[key] = inclusive.get(key, 0) + count

    def ranked(table: dict[str, int]) -> list[list[Any]]:
        best = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [[key, round(100 * value / total, 1)] for key, value in best]

    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "self_by_area": ranked(self_area),
        "self_by_function": ranked(self_func),
        "inclusive_backend": ranked(inclusive),
        "raw": path.name,
    }


def render_markdown(data: dict[str, Any], source: str) -> list[str]:
    row, params = data["rows"][0], data["params"]
    profile = row.get("profile", {})
    lines = [
        "## Where the stream's time goes (profile)",
        "",
        f"py-spy sampled our server at {params['rate_hz']} Hz (`--gil`: the thread running "
        f"Python, which for the event loop is the one that runs out first) while N = "
        f"{row['n']} simulated kiosks streamed for {row['seconds_per_kiosk']:g} s each. "
        f"Run {data['date']} ({data['mode']} mode) at commit `{data['git_commit']}`; "
        f"server CPU {row['server_cpu_percent']:.0f} % of a core, ack-lag p99 "
        f"{row['ack_lag_ms']['p99']} ms under the profiler; {profile.get('samples', 0)} "
        f"samples. Source: `{source}`; raw stacks in `benchmarks/results/{params['raw_dir']}`.",
        "",
    ]
    return [*lines, *profile_tables(profile)]


def profile_tables(profile: dict[str, Any]) -> list[str]:
    """The three tables of a summarised profile, as markdown."""
    if not profile.get("samples"):
        return ["No samples (py-spy missing or not permitted to attach).", ""]
    lines: list[str] = []
    tables = [
        ("Self time by library or backend file", "self_by_area"),
        ("Self time by function", "self_by_function"),
        ("Inclusive time of backend functions", "inclusive_backend"),
    ]
    for title, key in tables:
        lines += [f"| {title} | % of samples |", "|---|--:|"]
        lines += [f"| `{name}` | {pct} |" for name, pct in profile[key]]
        lines.append("")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description="Profile our server during a streaming step.")
    parser.add_argument("--quick", action="store_true", help="N 10 for 3 s")
    parser.add_argument("--n", type=int, help="simulated kiosks (default 200; quick 10)")
    parser.add_argument("--seconds", type=float, help="audio seconds per kiosk")
    parser.add_argument("--out", type=Path, help="results file (default benchmarks/results/)")
    args = parser.parse_args()
    n = args.n or (10 if args.quick else 200)
    seconds = args.seconds or (3.0 if args.quick else 20.0)
    started, at_start = datetime.now(UTC), machine()
    raw_dir = f"stream_profile-raw-{started.strftime('%Y%m%dT%H%M%SZ')}"
    (RESULTS_DIR / raw_dir).mkdir(parents=True, exist_ok=True)
    raw = RESULTS_DIR / raw_dir / f"ours-n{n}.txt"
    with tempfile.TemporaryDirectory(prefix="ik-bench-") as tmp:
        row = asyncio.run(run_step("ours", n, seconds, Path(tmp), raw))
    row["profile"] = summarize_profile(raw) if raw.exists() else {"samples": 0}
    body = {
        "mode": "quick" if args.quick else "full",
        "machine": at_start,
        "params": {"n": n, "seconds_per_kiosk": seconds, "rate_hz": 100, "raw_dir": raw_dir},
        "summary": {"samples": row["profile"].get("samples", 0)},
        "rows": [row],
    }
    out = write_results("stream_profile", started, body, args.out)
    for title in ("self_by_area", "self_by_function", "inclusive_backend"):
        print(title)
        for name, pct in row["profile"].get(title, []):
            print(f"  {pct:5.1f}  {name}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
