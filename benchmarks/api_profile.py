"""Where a plan or start request's time goes: a py-spy profile of the API under load.

It sets up what benchmarks/api_throughput.py sets up (a backend process on a fresh SQLite
file, an admin, a job posting, candidates with applications), then keeps C = 10 workers
sending one endpoint's requests for S seconds with py-spy attached to the server, once for
plan and once for start, and summarises the samples as benchmarks/stream_profile.py does.
A profiled server runs a little slower, so these cells are not mixed into the throughput
table; this is a separate run.

    .venv/bin/python benchmarks/api_profile.py            # 15 s per endpoint
    .venv/bin/python benchmarks/api_profile.py --quick    # 3 s per endpoint
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api_throughput import BACKEND, PATHS, Server, backend_env, create_admin, make_specs, run_cell
from common import RESULTS_DIR, ROOT, machine, write_results
from stream_profile import profile_tables, summarize_profile

CONCURRENCY = 10


async def profile_endpoints(
    server: Server, admin: tuple[str, str], seconds: float, raw_dir: Path
) -> list[dict[str, Any]]:
    specs = await make_specs(server.base_url, admin)
    rows = []
    for endpoint, path in PATHS.items():
        print(f"  profiling {endpoint} C={CONCURRENCY} ...", file=sys.stderr, flush=True)
        raw = raw_dir / f"{endpoint}.txt"
        spy = subprocess.Popen(  # noqa: ASYNC220 (a child that runs beside the cell)
            [str(ROOT / ".venv/bin/py-spy"), "record", "--pid", str(server.process.pid),
             "--rate", "100", "--format", "raw", "--output", str(raw), "--gil",
             "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            cell = await run_cell(server, path, specs[endpoint], CONCURRENCY, seconds, 1.0, None)
        finally:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            await asyncio.to_thread(spy.wait, 30)
        profile = summarize_profile(raw) if raw.exists() else {"samples": 0}
        rows.append({"database": "sqlite", "endpoint": endpoint, "concurrency": CONCURRENCY}
                    | cell | {"profile": profile})  # fmt: skip
    return rows


def render_markdown(data: dict[str, Any], source: str) -> list[str]:
    params = data["params"]
    lines = [
        "## Where an API request's time goes (profile)",
        "",
        f"py-spy sampled the backend at {params['rate_hz']} Hz (`--gil`) while "
        f"{params['concurrency']} workers sent plan, then start, requests for "
        f"{params['seconds_per_endpoint']:g} s each, on SQLite. Run {data['date']} "
        f"({data['mode']} mode) at commit `{data['git_commit']}`. Source: `{source}`; raw "
        f"stacks in `benchmarks/results/{params['raw_dir']}`.",
        "",
    ]
    for row in data["rows"]:
        profile = row["profile"]
        lines += [
            f"### {row['endpoint']}: {row['req_per_s']} req/s under the profiler, server CPU "
            f"{row['server_cpu_percent']:.0f} % of a core, {profile.get('samples', 0)} samples",
            "",
            *profile_tables(profile),
        ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description="Profile the backend under API load.")
    parser.add_argument("--quick", action="store_true", help="3 s per endpoint")
    parser.add_argument("--seconds", type=float, help="profiled seconds per endpoint")
    parser.add_argument("--out", type=Path, help="results file (default benchmarks/results/)")
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 15.0)
    started, at_start = datetime.now(UTC), machine()
    raw_name = f"api_profile-raw-{started.strftime('%Y%m%dT%H%M%SZ')}"
    raw_dir = RESULTS_DIR / raw_name
    raw_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ik-api-profile-") as tmp:
        env = backend_env(Path(tmp) / "sqlite", None)
        admin = create_admin(env)
        server = Server("sqlite", [BACKEND, "serve", "--host", "127.0.0.1"], env, Path(tmp))
        try:
            server.wait_ready()
            rows = asyncio.run(profile_endpoints(server, admin, seconds, raw_dir))
        finally:
            server.stop()
    params = {"concurrency": CONCURRENCY, "seconds_per_endpoint": seconds, "rate_hz": 100,
              "raw_dir": raw_name, "database": "sqlite"}  # fmt: skip
    body = {"mode": "quick" if args.quick else "full", "machine": at_start, "params": params,
            "summary": {r["endpoint"]: r["profile"].get("samples", 0) for r in rows},
            "rows": rows}  # fmt: skip
    out = write_results("api_profile", started, body, args.out)
    for row in rows:
        print(f"{row['endpoint']}: {row['req_per_s']} req/s")
        for name, pct in row["profile"].get("inclusive_backend", [])[:8]:
            print(f"  {pct:5.1f}  {name}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
