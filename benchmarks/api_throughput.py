"""API throughput: requests per second and p50/p99 latency of the two routes that create an
interview, at concurrency 1, 10 and 50, on SQLite and on PostgreSQL, with a bare FastAPI
endpoint measured in the same run as the reference.

- plan: POST /api/v1/interviews/plan {"role_type": "python"} (the legacy body);
- start: POST /api/v1/interviews/start {"application_id": ...}, the job-application-linked
  start: it loads the application and its posting, plans questions from the posting's stack
  and links the interview to both. The route allows any number of interviews per application
  (each call plans a new one), so each candidate applies once and starts again and again;
- reference: a bare FastAPI app in this file (--serve-reference): one POST that parses the
  same body with a pydantic model and returns a small pydantic model; no database, auth or
  middleware; uvicorn configured as backend/app/server.py configures it for `serve`.

Every server is a process of its own: `interview-backend serve` per database, each with a fresh
temporary data directory (PostgreSQL: a throwaway cluster with default durability). This
process is the load generator: asyncio and one httpx.AsyncClient per cell, its pool sized to
the concurrency C, C workers each sending its next request when the last is answered, for a
fixed time after a warm-up, the load never pausing in between. Setup is not measured: an
admin made with the `create-user` CLI posts one job; five candidates register, log in once
(argon2, ~0.15 s) and apply; worker k uses candidate k % 5. Cells are interleaved by C, so a
drift in background load hits every server alike. Only answers that arrive inside the timed
window count: req/s counts 2xx answers; anything else (or a transport error) is an error,
counted and reported; latencies are of 2xx answers. It reports and exits 0.

    .venv/bin/python benchmarks/api_throughput.py --quick      # C 1, 10; 2 s a cell; ~1 min
    .venv/bin/python benchmarks/api_throughput.py              # C 1, 10, 50; 10 s a cell
    .venv/bin/python benchmarks/api_throughput.py --databases sqlite --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from common import (
    ROOT,
    cpu_seconds,
    free_port,
    machine,
    percentile,
    run_line,
    stop_process,
    write_results,
)
from pydantic import BaseModel, ConfigDict

# The tests' PostgresCluster is the project's one way to start a throwaway cluster (initdb in a
# temporary directory, as the `postgres` user when root); it lives under tests/support.
sys.path.insert(0, str(ROOT / "tests"))
from support.postgres import PostgresCluster
from support.postgres import available as postgres_available

BACKEND = str(ROOT / ".venv/bin/interview-backend")
PATHS = {"plan": "/api/v1/interviews/plan", "start": "/api/v1/interviews/start"}
REFERENCE_PATH = "/reference"
CANDIDATES = 5
CLIENT_BOUND_PERCENT = 80.0
PG_SHOWN = ("server_version", "fsync", "synchronous_commit", "full_page_writes",
            "wal_sync_method", "shared_buffers", "max_connections")  # fmt: skip
POSTING = {"title": "Platform Engineer", "company": "Northwind Cloud",
           "description": "Run our Kubernetes platform. " * 40, "role_category": "DevOps",
           "tech_stack": ["Kubernetes", "Terraform", "AWS"], "experience_level": "senior",
           "required_skills": ["kubernetes", "terraform"]}  # fmt: skip


# --- the reference: a bare FastAPI endpoint, in its own process --------------------------------


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role_type: str


class Reply(BaseModel):
    id: str
    role_type: str


def serve_reference(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.post(REFERENCE_PATH, response_model=Reply, status_code=201)
    async def reference(body: Body) -> Reply:
        return Reply(id=str(uuid.uuid4()), role_type=body.role_type)

    # backend/app/server.py's settings, its WebSocket ones aside: the default ("auto") loop
    # and HTTP implementation, no access log, no server header; one process. (server.py runs
    # the same proxy-headers middleware, through backend/app/core/proxies.py.)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            proxy_headers=True, server_header=False, access_log=False)  # fmt: skip
    uvicorn.Server(config).run()


# --- servers and the database ------------------------------------------------------------------


class Server:
    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name, self.port = name, free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self.log = self.log_path.open("wb")
        command = [*command, "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-300:]
                raise RuntimeError(f"{self.name} server exited: {tail}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(self.base_url + "/", timeout=1)  # any answer, even 404, means ready
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server did not answer within {timeout} s")

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()


async def _shown_settings(cluster: PostgresCluster) -> dict[str, str]:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user=cluster.user)
    try:
        return {name: await conn.fetchval(f"SHOW {name}") for name in PG_SHOWN}
    finally:
        await conn.close()


def start_postgres(clusters: list[PostgresCluster]) -> tuple[str, dict[str, str], int]:
    """A fresh cluster and database: its URL, its settings, and the pid to measure."""
    if not postgres_available():
        raise RuntimeError("PostgreSQL binaries not found (/usr/lib/postgresql/*/bin/initdb)")
    # Durable: every commit pays the WAL flush a deployment pays (the tests' cluster doesn't).
    cluster = PostgresCluster(durable=True)
    clusters.append(cluster)  # before start(), so the caller stops it even if start fails
    cluster.start()
    assert cluster._proc is not None
    url = cluster.url(cluster.create_database())
    return url, asyncio.run(_shown_settings(cluster)), cluster._proc.pid


def tree_cpu_seconds(root: int) -> float:
    """utime + stime + cutime + cstime over a live process tree. For PostgreSQL that is the
    postmaster and its backends, including those that exited (the postmaster reaped them)."""
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += sum(int(x) for x in stats[pid][11:15]) if pid in stats else 0
        todo += [child for child, fields in stats.items() if int(fields[1]) == pid]
    return total / os.sysconf("SC_CLK_TCK")


def backend_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    # The default log level, "info": the deployed service logs one line per request.
    env = dict(os.environ) | {"IK_DATA_DIR": str(data_dir), "IK_LOG_LEVEL": "info"}
    env.pop("IK_DATABASE_URL", None)  # never a real database from the caller's environment
    return env | ({"IK_DATABASE_URL": database_url} if database_url else {})


def create_admin(env: dict[str, str]) -> tuple[str, str]:
    """An admin to post the job, made with the CLI (which also migrates the fresh database)."""
    email, password = "bench-admin@example.com", f"pw-{uuid.uuid4().hex}"
    subprocess.run(
        [BACKEND, "create-user", "--email", email, "--role", "admin"],
        env=env | {"IK_NEW_PASSWORD": password}, check=True, capture_output=True,
    )  # fmt: skip
    return email, password


# --- setup over REST (not measured) ------------------------------------------------------------

Spec = tuple[dict[str, str], bytes]  # headers, JSON body encoded once (less client CPU)
JSON = {"Content-Type": "application/json"}


def spec(headers: dict[str, str], body: dict[str, Any]) -> Spec:
    return headers | JSON, json.dumps(body).encode()


async def _ok(http: httpx.AsyncClient, path: str, body: Any, headers: Any = None) -> Any:
    response = await http.post(path, json=body, headers=headers)
    if response.status_code >= 300:
        raise RuntimeError(f"setup {path}: {response.status_code} {response.text[:200]}")
    return response.json()


async def _login(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    token = await _ok(http, "/api/v1/auth/login", {"email": email, "password": password})
    return {"Authorization": f"Bearer {token['access_token']}"}


async def make_specs(base_url: str, admin: tuple[str, str]) -> dict[str, list[Spec]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        posting = await _ok(http, "/api/v1/job-postings", POSTING, await _login(http, *admin))
        specs: dict[str, list[Spec]] = {"plan": [], "start": []}
        for _ in range(CANDIDATES):
            email, password = f"bench-{uuid.uuid4().hex[:12]}@example.com", uuid.uuid4().hex
            body = {"email": email, "password": password, "full_name": "Bench Candidate"}
            await _ok(http, "/api/v1/auth/register", body)
            auth = await _login(http, email, password)
            applied = await _ok(
                http, "/api/v1/applications", {"job_posting_id": posting["id"]}, auth
            )
            specs["plan"].append(spec(auth, {"role_type": "python"}))
            specs["start"].append(spec(auth, {"application_id": applied["id"]}))
    return specs


# --- one cell: C workers against one endpoint for a fixed time -----------------------------------


async def run_cell(
    server: Server, path: str, specs: list[Spec], c: int, seconds: float, warmup: float,
    db_pid: int | None,
) -> dict[str, Any]:  # fmt: skip
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    first_error: list[str] = []
    # One continuous load; only answers that arrive inside the window count. Load does not
    # pause between warm-up and window, nor is the window stretched to drain the slowest
    # request: a pause leaves connections idle, and uvicorn closes a connection idle 5 s.
    window = {"start": float("inf"), "end": float("inf")}
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as http:

        async def worker(k: int) -> None:
            headers, body = specs[k % len(specs)]
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    response = await http.post(path, content=body, headers=headers)
                    code, text = str(response.status_code), response.text
                except httpx.HTTPError as exc:  # an error to report, not a crash
                    code, text = type(exc).__name__, str(exc)
                t1 = time.monotonic()
                if not window["start"] <= t1 <= window["end"]:
                    continue  # warm-up (opens the pool's connections) or after the window
                codes[code] += 1
                if code.startswith("2"):
                    latencies.append((t1 - t0) * 1000)
                elif not first_error:
                    first_error.append(f"{code} {text[:200]}")

        workers = [asyncio.create_task(worker(k)) for k in range(c)]
        await asyncio.sleep(warmup)
        cpu0, client0 = cpu_seconds(server.process.pid), time.process_time()
        db0 = tree_cpu_seconds(db_pid) if db_pid else 0.0
        window["start"] = time.monotonic()
        await asyncio.sleep(seconds)
        window["end"] = time.monotonic()
        cpu = cpu_seconds(server.process.pid) - cpu0
        client = time.process_time() - client0
        db = tree_cpu_seconds(db_pid) - db0 if db_pid else None
        stop.set()
        await asyncio.gather(*workers)  # let the requests in flight finish (not counted)
    wall = window["end"] - window["start"]
    requests = sum(codes.values())
    return {
        "requests": requests,
        "errors": requests - len(latencies),
        "status_counts": dict(codes),
        "first_error": first_error[0] if first_error else None,
        "req_per_s": round(len(latencies) / wall, 1),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "server_cpu_percent": round(100 * cpu / wall, 1),  # 100 = one core busy
        "db_cpu_percent": None if db is None else round(100 * db / wall, 1),
        "client_cpu_percent": round(100 * client / wall, 1),
        "wall_seconds": round(wall, 2),
    }


async def measure(
    servers: dict[str, Server], admins: dict[str, tuple[str, str]], skipped: dict[str, str],
    concurrencies: list[int], seconds: float, warmup: float, db_pids: dict[str, int],
) -> list[dict[str, Any]]:  # fmt: skip
    cells = {("none", "reference"): [spec({}, {"role_type": "python"})]}
    for db, admin in admins.items():
        try:
            specs = await make_specs(servers[db].base_url, admin)
        except (httpx.HTTPError, RuntimeError) as exc:
            skipped[db] = f"setup failed: {exc}"
            continue
        cells |= {(db, endpoint): specs[endpoint] for endpoint in PATHS}
    rows = []
    for c in concurrencies:  # interleaved: every server at C before any at the next C
        for (db, endpoint), specs in cells.items():
            print(f"  {db} {endpoint} C={c} ...", file=sys.stderr, flush=True)
            path = PATHS.get(endpoint, REFERENCE_PATH)
            row = {"database": db, "endpoint": endpoint, "concurrency": c}
            rows.append(row | await run_cell(servers[db], path, specs, c, seconds, warmup,
                                             db_pids.get(db)))  # fmt: skip
    for db, reason in skipped.items():
        rows += [{"database": db, "endpoint": e, "concurrency": c, "skipped": reason}
                 for c in concurrencies for e in PATHS]  # fmt: skip
    reference = {r["concurrency"]: r["req_per_s"] for r in rows if r["endpoint"] == "reference"}
    for r in rows:
        if "skipped" not in r:
            ref = reference.get(r["concurrency"])
            r["ratio_to_reference"] = round(r["req_per_s"] / ref, 3) if ref else None
    return rows


# --- output ----------------------------------------------------------------------------------


def _f(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


COLUMNS = [("requests", "d"), ("errors", "d"), ("req_per_s", ".1f"), ("p50_ms", ".1f"),
           ("p99_ms", ".1f"), ("server_cpu_percent", ".1f"), ("db_cpu_percent", ".1f"),
           ("client_cpu_percent", ".1f"), ("ratio_to_reference", ".3f")]  # fmt: skip


def _cells(r: dict[str, Any]) -> list[str]:
    """A row's values as printed, in COLUMNS order ("-" for none, e.g. DB CPU of SQLite)."""
    return [_f(r[key], spec) for key, spec in COLUMNS]


def print_table(rows: list[dict[str, Any]]) -> None:
    widths = [10, 8, 9, 9, 9, 10, 9, 10, 8]
    names = ["requests", "errors", "req/s", "p50 ms", "p99 ms", "srv cpu%", "db cpu%",
             "cli cpu%", "x ref"]  # fmt: skip
    head = f"{'database':<10}{'endpoint':<11}{'C':>4}"
    head += "".join(f"{n:>{w}}" for n, w in zip(names, widths, strict=True))
    print(head + "\n" + "-" * len(head))
    for r in rows:
        line = f"{r['database']:<10}{r['endpoint']:<11}{r['concurrency']:>4}"
        if "skipped" in r:
            print(f"{line}  skipped: {r['skipped'][:70]}")
        else:
            print(line + "".join(f"{v:>{w}}" for v, w in zip(_cells(r), widths, strict=True)))


def client_bound_cells(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{r['database']}/{r['endpoint']} at C={r['concurrency']}" for r in rows
            if r.get("client_cpu_percent", 0) > CLIENT_BOUND_PERCENT]  # fmt: skip


def summarize(rows: list[dict[str, Any]], skipped: dict[str, str]) -> dict[str, Any]:
    measured = [r for r in rows if "skipped" not in r]
    ratios: dict[str, dict[str, float | None]] = {}
    for r in measured:
        if r["endpoint"] != "reference":
            key = f"{r['database']}/{r['endpoint']}"
            ratios.setdefault(key, {})[str(r["concurrency"])] = r["ratio_to_reference"]
    client_bound = client_bound_cells(rows)
    return {"ratio_to_reference": ratios, "errors_total": sum(r["errors"] for r in measured),
            "client_bound_cells": len(client_bound), "skipped": skipped}  # fmt: skip


def render_markdown(data: dict[str, Any], source: str) -> list[str]:
    params, summary = data["params"], data["summary"]
    pg = params.get("postgres_settings") or {}
    lines = [
        "## API throughput",
        "",
        "Requests per second and latency of `POST /api/v1/interviews/plan` (role type only) "
        "and `POST /api/v1/interviews/start` (linked to a job application), served by "
        "`interview-backend serve` in a process of its own on SQLite and on PostgreSQL, at "
        f"concurrency C = {', '.join(map(str, params['concurrency']))}: C workers of one "
        "asyncio + httpx load generator, each sending its next request when the last is "
        f"answered, {params['seconds_per_cell']:g} s per cell after a "
        f"{params['warmup_seconds']:g} s warm-up. The reference is a bare FastAPI endpoint "
        "(pydantic body in, small model out; no database, auth or middleware) under the same "
        f"uvicorn settings ({params['http_stack']}), measured in the same run.",
        "",
        run_line(data, source),
        "",
        f"- **Errors (non-2xx or transport) among measured requests:** {summary['errors_total']}",
    ]
    if pg:
        lines.append(f"- **PostgreSQL:** {pg.get('server_version')}, fsync={pg.get('fsync')}, "
                     f"synchronous_commit={pg.get('synchronous_commit')}, "
                     f"full_page_writes={pg.get('full_page_writes')}")  # fmt: skip
    lines += [f"- **{db} skipped:** {why}" for db, why in summary.get("skipped", {}).items()]
    lines += [
        "",
        "| Database | Endpoint | C | Requests | Errors | Req/s | p50 (ms) | p99 (ms) | "
        "Server CPU (%) | DB CPU (%) | Client CPU (%) | x reference |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in data["rows"]:
        values = ["skipped", *[""] * 8] if "skipped" in r else _cells(r)
        cells = [r["database"], r["endpoint"], str(r["concurrency"]), *values]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Req/s counts 2xx answers and latencies are of 2xx answers; errors are all other "
        "answers and transport failures. CPU is in percent of one core over the cell: the "
        "server process (with SQLite this includes the database work), the PostgreSQL "
        "postmaster and backends, and the load generator. x reference is req/s divided by "
        "the bare endpoint's at the same C.",
    ]
    if bound := client_bound_cells(data["rows"]):
        lines += [
            "",
            f"The load generator used more than {CLIENT_BOUND_PERCENT:.0f}% of a core in "
            f"{', '.join(bound)}: there it, not the server, may be the bottleneck (it shares "
            "the machine's cores with the servers), so those req/s are lower bounds, and a "
            "ratio to a client-bound reference is an upper bound.",
        ]
    return [*lines, ""]


# --- the run ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="API throughput benchmark (plan and start).")
    parser.add_argument("--quick", action="store_true", help="C 1 and 10, 2 s a cell")
    parser.add_argument("--databases", nargs="+", choices=["sqlite", "postgres"],
                        default=["sqlite", "postgres"])  # fmt: skip
    parser.add_argument("--concurrency", type=int, nargs="+", help="default by mode")
    parser.add_argument("--seconds", type=float, help="measured seconds per cell")
    parser.add_argument("--out", type=Path, help="results file (default benchmarks/results/)")
    parser.add_argument("--serve-reference", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_reference:
        serve_reference(args.port)
        return 0
    concurrencies = args.concurrency or ([1, 10] if args.quick else [1, 10, 50])
    seconds = args.seconds or (2.0 if args.quick else 10.0)
    warmup = 0.5 if args.quick else 2.0

    started, at_start = datetime.now(UTC), machine()
    servers: dict[str, Server] = {}
    admins: dict[str, tuple[str, str]] = {}
    skipped: dict[str, str] = {}
    db_pids: dict[str, int] = {}
    clusters: list[PostgresCluster] = []
    pg_settings: dict[str, str] | None = None
    with tempfile.TemporaryDirectory(prefix="ik-api-bench-") as tmp:
        workdir = Path(tmp)
        try:
            command = [sys.executable, __file__, "--serve-reference"]
            servers["none"] = Server("reference", command, dict(os.environ), workdir)
            servers["none"].wait_ready()
            for db in args.databases:
                print(f"  setting up {db} ...", file=sys.stderr, flush=True)
                try:
                    url = None
                    if db == "postgres":
                        url, pg_settings, db_pids[db] = start_postgres(clusters)
                    env = backend_env(workdir / db, url)
                    admins[db] = create_admin(env)
                    command = [BACKEND, "serve", "--host", "127.0.0.1"]
                    servers[db] = Server(db, command, env, workdir)
                    servers[db].wait_ready()
                except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
                    detail = (getattr(exc, "stderr", None) or b"").decode()[-200:]
                    skipped[db] = f"{type(exc).__name__}: {exc} {detail}".strip()
                    admins.pop(db, None)
            rows = asyncio.run(
                measure(servers, admins, skipped, concurrencies, seconds, warmup, db_pids)
            )
        finally:
            for server in servers.values():
                server.stop()
            for cluster in clusters:
                cluster.stop()

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    params = {
        "concurrency": concurrencies, "seconds_per_cell": seconds, "warmup_seconds": warmup,
        "databases": args.databases, "candidates": CANDIDATES,
        "bodies": {"plan": {"role_type": "python"}, "start": {"application_id": "per candidate"},
                   "reference": {"role_type": "python"}},
        "http_stack": f"uvicorn, {loop} loop, {http}, one process",
        "backend_log_level": "info (the default: a log line per request, to a file)",
        "sqlite": "WAL, synchronous=NORMAL (backend/app/core/db.py)",
        "postgres_settings": pg_settings,
        "client": "httpx.AsyncClient, keep-alive pool of C connections, same machine",
        "pinned_cpus": False,
    }  # fmt: skip
    body = {"mode": "quick" if args.quick else "full", "machine": at_start, "params": params,
            "summary": summarize(rows, skipped), "rows": rows}  # fmt: skip
    out = write_results("api_throughput", started, body, args.out)
    print_table(rows)
    if bound := client_bound_cells(rows):
        print(f"client CPU > {CLIENT_BOUND_PERCENT:.0f}% (load generator may be the limit): "
              + ", ".join(bound))  # fmt: skip
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
