#!/usr/bin/env python3
"""Reads and pages at 100,000 artifacts: p50/p95 per route against a real server.

Seeds a fresh store in bulk (SQLAlchemy Core, batches of 5,000 rows: no HTTP), starts
`runfolio server start` on it, asks each route `--repeat` times after `--warmup`
unmeasured calls (one keep-alive connection, one request at a time) and prints
p50/p95 wall time per route against its target, and the server's CPU time per
request (steadier than wall time on a busy machine). Run by hand, never in CI:

    .venv/bin/python bench/page_render.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/page_render.py --database sqlite --repeat 200
    git archive REV src | tar -x -C /tmp/before        # a baseline, measured turn about:
    .venv/bin/python bench/page_render.py --baseline-src /tmp/before/src

The code measured is the one this script imports (PYTHONPATH=.../src to choose another).

The store (default workspace): `--keys` keys (one of them, `nightly-report`, with
`--hot-versions` versions; a tenth of the other artifacts keyless), a mix of markdown
(~1.4 KB), tables, links, progress and images over 200 flow runs, and one flow run of
`--tasks` task runs, each with three states and one artifact. PostgreSQL is a
throw-away server (tests/pg.py), ANALYZEd after the load as autovacuum would be.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/pg.py runs the PostgreSQL server, as for the tests

from tests.pg import PostgresServer  # noqa: E402
from tests.servers import free_port  # noqa: E402

from runfolio.store.engine import connect  # noqa: E402
from runfolio.store.tables import (  # noqa: E402
    DEFAULT_WORKSPACE_ID,
    artifact_collections,
    artifacts,
    flow_runs,
    flows,
    run_states,
    task_runs,
)

BATCH = 5_000
HOT_KEY = "nightly-report"
KEY_STEMS = ("daily-report", "model-metrics", "data-quality", "train-loss", "eval-table",
             "etl-summary", "sales-dashboard", "inventory-check", "feature-drift")  # fmt: skip
# Stored types and their share of the keyed and keyless artifacts ("link" is markdown).
TYPE_MIX = ("markdown",) * 5 + ("table",) * 2 + ("link", "progress", "image")
WS = DEFAULT_WORKSPACE_ID
FILTER_TARGET_MS = 5.0
PAGE_TARGET_MS = 50.0


# -- seeding ----------------------------------------------------------------------------


def uuid7_at(moment: dt.datetime, rng: random.Random) -> uuid.UUID:
    """A version-7 id for `moment` (ids are time-ordered, as the server makes them)."""
    ms = int(moment.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62)
    return uuid.UUID(int=value | rng.getrandbits(62))


def markdown(n: int) -> str:
    rows = "\n".join(f"| step {i} | {(n * 7 + i) % 997 / 10:.1f} | ok |" for i in range(12))
    body = (
        f"# Report {n}\n\nThe nightly run finished; **{n % 400}** records changed.\n\n"
        f"| stage | seconds | status |\n|---|---|---|\n{rows}\n\n"
        "- inputs validated against the schema\n- outliers flagged for review\n"
        f"- see [the dashboard](https://example.com/dash/{n})\n\n"
    )
    return body + "Notes: " + "lorem ipsum dolor sit amet " * ((1400 - len(body)) // 27)


def data_of(kind: str, n: int) -> tuple[str, Any]:
    """(stored type, data) of an artifact of `kind`."""
    if kind == "markdown":
        return "markdown", markdown(n)
    if kind == "link":
        return "markdown", f"[run {n} results](https://example.com/results/{n})"
    if kind == "table":
        return "table", [{"epoch": i, "loss": round(1 / (i + 1 + n % 5), 4)} for i in range(20)]
    if kind == "progress":
        return "progress", float(n % 101)
    return "image", f"https://example.com/images/{n}.png"


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[start : start + BATCH])


@dataclass
class Seeded:
    big_run_id: uuid.UUID
    hot_key: str
    keys: int
    artifacts: int
    tasks: int


def seed(url: str, *, total: int, keys: int, hot_versions: int, tasks: int) -> Seeded:
    rng = random.Random(42)
    engine = connect(url)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(seconds=20)
    flow_id = uuid7_at(start, rng)
    runs = [uuid7_at(start + i * dt.timedelta(hours=1), rng) for i in range(200)]
    big_run = uuid7_at(start + dt.timedelta(days=40), rng)
    run_rows = [
        {
            "id": run_id, "workspace_id": WS, "flow_id": flow_id, "name": f"run-{i}",
            "parameters": {"day": i}, "tags": [], "state_type": "COMPLETED",
            "state_name": "Completed", "created": start, "updated": start,
            "start_time": start, "end_time": start + dt.timedelta(minutes=5),
        }
        for i, run_id in enumerate([*runs, big_run])
    ]  # fmt: skip
    task_rows, state_rows, art_rows = [], [], []
    task_start = start + dt.timedelta(days=40)
    for i in range(tasks):
        began = task_start + i * dt.timedelta(seconds=1)
        task_id = uuid7_at(began, rng)
        task_rows.append(
            {
                "id": task_id, "workspace_id": WS, "flow_run_id": big_run,
                "task_key": f"step-{i % 20}", "dynamic_key": str(i), "name": f"step-{i % 20}-{i}",
                "tags": [], "state_type": "COMPLETED", "state_name": "Completed",
                "run_count": 1, "start_time": began, "end_time": began + step,
                "expected_start_time": began, "created": began, "updated": began + step,
            }
        )  # fmt: skip
        for j, (type_, name) in enumerate(
            (("PENDING", "Pending"), ("RUNNING", "Running"), ("COMPLETED", "Completed"))
        ):
            at = began + j * dt.timedelta(seconds=5)
            state_rows.append(
                {
                    "id": uuid7_at(at, rng), "workspace_id": WS, "task_run_id": task_id,
                    "flow_run_id": big_run, "type": type_, "name": name, "timestamp": at,
                }
            )  # fmt: skip
        type_, data = data_of(TYPE_MIX[i % len(TYPE_MIX)], i)
        art_rows.append(
            {
                "id": uuid7_at(began + step, rng), "workspace_id": WS,
                "key": f"task-metric-{i % 25}" if i % 4 == 0 else None, "type": type_,
                "description": f"Step {i} output", "data": data, "flow_run_id": big_run,
                "task_run_id": task_id, "created": began + step, "updated": began + step,
            }
        )  # fmt: skip
    key_names = [HOT_KEY] + [f"{KEY_STEMS[k % len(KEY_STEMS)]}-{k}" for k in range(1, keys - 25)]
    others = total - tasks
    for n in range(others):
        at = start + n * step * 0.17
        if n % (others // hot_versions) == 0:
            key: str | None = HOT_KEY
            kind = "markdown"
        else:
            key = None if n % 10 == 0 else key_names[1 + rng.randrange(len(key_names) - 1)]
            kind = TYPE_MIX[rng.randrange(len(TYPE_MIX))]
        type_, data = data_of(kind, n)
        art_rows.append(
            {
                "id": uuid7_at(at, rng), "workspace_id": WS, "key": key, "type": type_,
                "description": f"Artifact {n} of {key or 'no key'}: results and notes.",
                "data": data, "flow_run_id": runs[n % len(runs)], "task_run_id": None,
                "created": at, "updated": at,
            }
        )  # fmt: skip
    art_rows.sort(key=lambda r: r["created"])
    collections: dict[str, dict[str, Any]] = {}
    for row in art_rows:
        if row["key"] is None:
            continue
        first = collections.get(row["key"], {}).get("created", row["created"])
        collections[row["key"]] = {
            "id": uuid7_at(first, rng), "workspace_id": WS, "key": row["key"],
            "latest_id": row["id"], "latest_created": row["created"],
            "created": first, "updated": row["created"],
            **{c: row[c] for c in ("type", "description", "data", "flow_run_id", "task_run_id")},
        }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            flows.insert(),
            {"id": flow_id, "workspace_id": WS, "name": "nightly", "tags": [],
             "created": start, "updated": start},
        )  # fmt: skip
        _insert(conn, flow_runs, run_rows)
        _insert(conn, task_runs, task_rows)
        _insert(conn, run_states, state_rows)
        _insert(conn, artifacts, art_rows)
        _insert(conn, artifact_collections, list(collections.values()))
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    return Seeded(big_run, HOT_KEY, len(collections), len(art_rows), tasks)


# -- measuring --------------------------------------------------------------------------


@dataclass
class Server:
    base: str
    pid: int

    def cpu_ms(self) -> float:
        """CPU time the server process has used (every thread), in ms: what a request
        costs even when other work on the machine stretches its wall time."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        utime, stime = int(fields[11]), int(fields[12])
        return (utime + stime) * 1000 / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(home: Path, url: str, src: Path | None = None) -> Iterator[Server]:
    """`runfolio server start` on `url`; of the code in `src` (a checkout's src/) if given."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env.update(RUNFOLIO_HOME=str(home), RUNFOLIO_DATABASE_URL=url)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    log = (home / f"server-{port}.log").open("w")
    runfolio = [sys.executable, "-m", "runfolio.cli", "server", "start", "--port", str(port)]
    process = subprocess.Popen(runfolio, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{Path(log.name).read_text()}")
            time.sleep(0.1)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


@dataclass
class Route:
    name: str
    method: str
    path: str
    target_ms: float
    body: dict[str, Any] | None = None


def routes(seeded: Seeded) -> list[Route]:
    latest = "/api/artifacts/latest/filter"
    found: list[Route] = [
        Route("latest/filter (no filter)", "POST", latest, FILTER_TARGET_MS, {"limit": 50}),
        Route(
            "latest/filter key like_ 'report'", "POST", latest, FILTER_TARGET_MS,
            {"limit": 50, "artifacts": {"key": {"like_": "report"}}},
        ),
        Route(
            "latest/filter type table", "POST", latest, FILTER_TARGET_MS,
            {"limit": 50, "artifacts": {"type": {"any_": ["table"]}}},
        ),
    ]  # fmt: skip
    for sort in ("CREATED_DESC", "UPDATED_DESC", "ID_DESC", "KEY_DESC", "KEY_ASC"):
        found.append(
            Route(f"latest/filter sort {sort}", "POST", latest, FILTER_TARGET_MS,
                  {"limit": 50, "sort": sort})
        )  # fmt: skip
    run = f"/runs/{seeded.big_run_id}"
    key = f"/artifacts/key/{seeded.hot_key}"
    for name, path in (
        ("Artifacts page /", "/"),
        ("Artifacts page ?q=report", "/artifacts?q=report"),
        ("Artifacts page ?type=table", "/artifacts?type=table"),
        ("Artifacts page ?page=50", "/artifacts?page=50"),
        (f"key page ({HOT_KEY})", key),
        (f"flow-run page ({seeded.tasks:,} task runs)", run),
    ):
        found.append(Route(name, "GET", path, PAGE_TARGET_MS))
        twin = "/api/ui" + ("/artifacts" if path == "/" else path)  # `/` is an alias
        found.append(Route(f"{name} JSON", "GET", twin, PAGE_TARGET_MS))
    return found


@dataclass
class Timings:
    wall_ms: list[float]
    cpu_ms: float  # the server's CPU time per request, on average


def measure(servers: list[Server], route: Route, warmup: int, repeat: int) -> list[Timings]:
    """Each server's timings of `route`, asked in turn (so load that comes and goes on
    the machine falls on all of them alike)."""
    clients = [httpx.Client(base_url=s.base, timeout=30) for s in servers]
    walls: list[list[float]] = [[] for _ in servers]
    cpu = [0.0 for _ in servers]
    try:
        for i in range(warmup + repeat):
            for n, (client, found) in enumerate(zip(clients, servers, strict=True)):
                cpu_before = found.cpu_ms()
                began = time.perf_counter()
                answer = client.request(route.method, route.path, json=route.body)
                took = (time.perf_counter() - began) * 1000
                if answer.status_code != 200:
                    raise SystemExit(f"{route.name}: {answer.status_code} {answer.text[:300]}")
                if i >= warmup:
                    walls[n].append(took)
                    cpu[n] += found.cpu_ms() - cpu_before
    finally:
        for client in clients:
            client.close()
    return [Timings(w, c / repeat) for w, c in zip(walls, cpu, strict=True)]


def _p50_p95(timings: list[float]) -> tuple[float, float]:
    return statistics.median(timings), statistics.quantiles(timings, n=20)[-1]


def report(database: str, results: list[tuple[Route, list[Timings]]]) -> str:
    """The table: p50/p95 wall time and mean server CPU time of this code, against the
    target and (when measured) the baseline's, with the ratios of the p50s and CPU."""
    baseline = len(results[0][1]) > 1
    head = "| route | p50 ms | p95 ms | CPU ms | target ms | met |"
    rule = "|---|---:|---:|---:|---:|---|"
    if baseline:
        head += " base p50 | base p95 | base CPU | p50 ratio | CPU ratio |"
        rule += "---:|---:|---:|---:|---:|"
    lines = [f"### {database}", "", head, rule]
    for route, (now, *before) in results:
        p50, p95 = _p50_p95(now.wall_ms)
        met = "yes" if p50 <= route.target_ms else "NO"
        cells = [route.name, f"{p50:.2f}", f"{p95:.2f}", f"{now.cpu_ms:.1f}"]
        cells += [f"{route.target_ms:g}", met]
        if before:
            b50, b95 = _p50_p95(before[0].wall_ms)
            b_cpu = max(before[0].cpu_ms, 0.01)
            cells += [f"{b50:.2f}", f"{b95:.2f}", f"{b_cpu:.1f}", f"{p50 / b50:.2f}"]
            cells.append(f"{now.cpu_ms / b_cpu:.2f}")
        line = "| " + " | ".join(cells) + " |"
        lines.append(line)
    return "\n".join(lines)


def run_one(database: str, url: str, home: Path, a: argparse.Namespace) -> str:
    began = time.monotonic()
    seeded = seed(url, total=a.artifacts, keys=a.keys, hot_versions=a.hot_versions, tasks=a.tasks)
    print(
        f"{database}: seeded {seeded.artifacts:,} artifacts, {seeded.keys:,} keys in "
        f"{time.monotonic() - began:.1f} s",
        file=sys.stderr,
    )
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(server(home, url))]
        if a.baseline_src is not None:
            servers.append(stack.enter_context(server(home, url, a.baseline_src)))
        results = [(r, measure(servers, r, a.warmup, a.repeat)) for r in routes(seeded)]
    return report(database, results)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--artifacts", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=5_000)
    ap.add_argument("--hot-versions", type=int, default=5_000)
    ap.add_argument("--tasks", type=int, default=1_000)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=100)
    ap.add_argument(
        "--baseline-src",
        type=Path,
        help="also measure a server of this code (another checkout's src/, e.g. from "
        "`git archive REV src | tar -x -C DIR`), on the same store, turn about",
    )
    a = ap.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="runfolio-pages-"))
    tables: list[str] = []
    try:
        if a.database in ("sqlite", "both"):
            home = work / "sqlite"
            home.mkdir()
            tables.append(run_one("SQLite", f"sqlite:///{home / 'runfolio.db'}", home, a))
        if a.database in ("postgresql", "both"):
            pg = PostgresServer()
            try:
                pg.start()
                home = work / "postgresql"
                home.mkdir()
                with pg.database() as url:
                    tables.append(run_one("PostgreSQL", url, home, a))
            finally:
                pg.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}\n")
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
