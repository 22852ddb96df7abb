#!/usr/bin/env python3
"""Artifact listings at 1,000,000 artifacts on PostgreSQL, seeded in minutes, not hours.

Loading 1,000,000 artifacts through the API takes ~45 min on this machine, so this
seeds a migrated database directly: `INSERT ... SELECT ... FROM generate_series`
writes the version rows as the store's create writes them (uuid7 ids in creation
order, the default workspace, created = updated spread over --days, ~1.4 KB
markdown as a JSON string, a mix of types, ~--keys keys, 1 in 23 without a key),
then one collection row per key pointing at its newest version (created when the
key's first version was, updated and content from its newest), then VACUUM ANALYZE.
(The create path's `changes` rows are transient and read by no listing: not seeded.)

Then `runfolio server start` (1 worker) serves the database and each body below is
posted --repeat times, one after another on one keep-alive connection, after a
warm-up; p50/p95/p99 per body. Several --artifacts sizes are seeded one after the
other on the same database (the smaller first), e.g. the 100,000 reference and the
1,000,000 target. Run by hand, never in CI:

    .venv/bin/python bench/pg_scale.py --artifacts 100000,1000000

  --explain       also log every listing's plan (auto_explain with ANALYZE) at the
                  largest size (and with the --index ones), print them, and add each
                  listing's time in PostgreSQL to the table: on a busy machine the
                  HTTP times mostly measure the wait for a CPU
  --index "DDL"   after the largest size is measured, run DDL (e.g. a CREATE INDEX),
                  ANALYZE and measure again: the gain of an index before it is a
                  migration (repeatable)

Everything (PostgreSQL server, database, server process) is thrown away at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/pg.py runs the PostgreSQL server, as for the tests

from tests.pg import SUPERUSER, TEMPLATE, PostgresServer  # noqa: E402
from tests.servers import free_port  # noqa: E402

from runfolio.store.tables import DEFAULT_WORKSPACE_ID  # noqa: E402

DATABASE = "runfolio_scale"
TARGET_P50_MS = 10.0

# The listings timed: (name, path under /api, body). Keys are bench-key-0 .. --keys - 1.
LATEST = "/artifacts/latest/filter"
VERSIONS = "/artifacts/filter"
BODIES: list[tuple[str, str, dict[str, Any] | None]] = [
    # No body: a GET. The floor of any request on this machine at this moment (HTTP, the
    # server's middleware, no database), measured in the same run as the listings.
    ("GET /api/health (HTTP floor)", "/health", None),
    # The reference harness's W6 b_latest_filter_limit50.
    ("latest CREATED_DESC", LATEST, {"sort": "CREATED_DESC", "limit": 50}),
    ("latest UPDATED_DESC", LATEST, {"sort": "UPDATED_DESC", "limit": 50}),
    ("latest ID_DESC", LATEST, {"sort": "ID_DESC", "limit": 50}),
    ("latest KEY_ASC", LATEST, {"sort": "KEY_ASC", "limit": 50}),
    ("latest KEY_DESC", LATEST, {"sort": "KEY_DESC", "limit": 50}),
    (
        "latest key like_ 'key-4242'",
        LATEST,
        {"artifacts": {"key": {"like_": "key-4242"}}, "sort": "CREATED_DESC", "limit": 50},
    ),
    (
        "latest key like_ 'kéy-4242' (non-ASCII)",
        LATEST,
        {"artifacts": {"key": {"like_": "kéy-4242"}}, "sort": "CREATED_DESC", "limit": 50},
    ),
    (
        "latest type any_ [markdown] (70 %)",
        LATEST,
        {"artifacts": {"type": {"any_": ["markdown"]}}, "sort": "CREATED_DESC", "limit": 50},
    ),
    (
        "latest type any_ [image] (1 %)",
        LATEST,
        {"artifacts": {"type": {"any_": ["image"]}}, "sort": "CREATED_DESC", "limit": 50},
    ),
    (
        "versions key any_ [one key]",
        VERSIONS,
        {"artifacts": {"key": {"any_": ["bench-key-7"]}}, "sort": "CREATED_DESC", "limit": 50},
    ),
    (
        "versions key like_ 'key-4242'",
        VERSIONS,
        {"artifacts": {"key": {"like_": "key-4242"}}, "sort": "CREATED_DESC", "limit": 50},
    ),
    ("versions CREATED_DESC", VERSIONS, {"sort": "CREATED_DESC", "limit": 50}),
]

# Version rows lo .. hi - 1. Artifact i has key bench-key-(i % keys), so a key keeps
# its type (the type follows i % 100, and 100 divides the key count), except 1 in 23
# artifacts, which have no key. The markdown is the harness's report (markdown_body)
# with a longer step table, ~1.4 KB; its 97 possible tables are built once.
SEED_VERSIONS = """
WITH step_tables AS (
    SELECT r, string_agg(format(%(step_row)s::text, j, (r * 7 + j) %% 97), '' ORDER BY j) AS rows
    FROM generate_series(0, 96) AS r, generate_series(0, 39) AS j
    GROUP BY r
), versions AS (
    SELECT i,
           timestamptz 'epoch' + make_interval(secs => %(t0)s + i * %(step)s)
               + (i * 7919 %% 1000) * interval '1 microsecond' AS made,
           CASE WHEN i %% 23 <> 22 THEN 'bench-key-' || (i %% %(keys)s) END AS key,
           CASE WHEN i %% 100 < 70 THEN 'markdown' WHEN i %% 100 < 85 THEN 'table'
                WHEN i %% 100 < 95 THEN 'link' WHEN i %% 100 < 99 THEN 'progress'
                ELSE 'image' END AS type,
           md5(i::text) AS h
    FROM generate_series(%(lo)s::bigint, %(hi)s - 1) AS i
)
INSERT INTO artifacts (id, workspace_id, key, type, description, data, metadata_,
                       flow_run_id, task_run_id, created_by, rows_appended, created, updated)
SELECT {uuid7}, %(ws)s, v.key, v.type, 'd',
       (CASE v.type
            WHEN 'markdown' THEN to_json(format(
                %(markdown)s::text, v.i, v.i, s.rows, v.i * 13, v.i * 13 - v.i %% 5, v.i))::text
            WHEN 'table' THEN (
                SELECT '[' || string_agg(format('{{"id":%%s,"name":"row-%%s-%%s","value":%%s}}',
                                                r, v.i, r, round((v.i * 31 + r) * 0.137, 3)),
                                         ',' ORDER BY r) || ']'
                FROM generate_series(0, 19) AS r)
            WHEN 'link' THEN to_json('https://example.com/runs/' || v.i)::text
            WHEN 'progress' THEN (v.i %% 101)::text || '.0'
            ELSE to_json('https://example.com/images/' || v.i || '.png')::text
        END)::{json_type},
       NULL, NULL, NULL, NULL, NULL, v.made, v.made
FROM versions AS v JOIN step_tables AS s ON s.r = v.i %% 97
"""

# The harness's markdown_body (PostgreSQL's format() placeholders), its step table
# longer: 40 rows instead of 12.
MARKDOWN = (
    "# report %s\n\n"
    "Run **%s** finished. This paragraph pads the artifact to a realistic "
    "size, the way a nightly data-quality report would: it names the source "
    "table, the row counts and a few notes for whoever reads it next.\n\n"
    "| step | duration | status |\n|---|---|---|\n%s\n"
    "- rows in: %s\n- rows out: %s\n"
    "- see [dashboard](https://example.com/runs/%s)\n"
)
STEP_ROW = "| step-%s | %s ms | ok |\n"

# A uuid7 of `made` as runfolio's new_id makes one: 48 bits of Unix milliseconds, the
# version, then bits from `h` (the variant's two bits from `i`).
UUID7 = (
    "(lpad(to_hex((extract(epoch FROM {made}) * 1000)::bigint), 12, '0') || '7'"
    " || substr({h}, 1, 3) || substr('89ab', ({i} %% 4)::int + 1, 1) || substr({h}, 4, 15))::uuid"
)

# One collection row per key, as the creates would have left it.
SEED_COLLECTIONS = """
TRUNCATE artifact_collections;
INSERT INTO artifact_collections (id, workspace_id, key, latest_id, type, description, data,
                                  metadata_, flow_run_id, task_run_id, created, updated,
                                  latest_created)
SELECT {uuid7}, a.workspace_id, a.key, a.id, a.type, a.description, a.data, a.metadata_,
       a.flow_run_id, a.task_run_id, k.first_made, a.created, a.created
FROM (
    SELECT key, min(created) AS first_made,
           (array_agg(id ORDER BY created DESC, id DESC))[1] AS latest_id,
           md5('collection ' || key) AS h, length(key) AS i
    FROM artifacts WHERE workspace_id = %(ws)s AND key IS NOT NULL
    GROUP BY key
) AS k
JOIN artifacts AS a ON a.workspace_id = %(ws)s AND a.id = k.latest_id
"""


@dataclass
class Timing:
    name: str
    rows: int
    p50: float
    p95: float
    p99: float
    # The server's CPU per request (its process tree, from /proc): unlike the latency,
    # hardly changed by whatever else the machine is running.
    cpu_ms: float


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--artifacts",
        default="100000,1000000",
        help="comma list of sizes, each seeded on top of the one before (ascending)",
    )
    ap.add_argument("--keys", type=int, default=50_000, help="distinct keys (a multiple of 100)")
    ap.add_argument("--days", type=float, default=90, help="the versions' created times span")
    ap.add_argument("--repeat", type=int, default=200, help="timed requests per body")
    ap.add_argument("--warmup", type=int, default=20, help="untimed requests per body")
    ap.add_argument("--explain", action="store_true", help="print the plans at the largest size")
    ap.add_argument("--index", action="append", default=[], help="DDL to measure the gain of")
    a = ap.parse_args()
    sizes = sorted(int(n) for n in a.artifacts.split(","))

    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    pg = PostgresServer()
    home = Path(tempfile.mkdtemp(prefix="runfolio-pgscale-"))
    results: dict[str, list[Timing]] = {}
    in_database: dict[str, dict[str, float]] = {}
    try:
        pg.start()
        dsn = f"host=127.0.0.1 port={pg.port} user={SUPERUSER}"
        with psycopg.connect(f"{dsn} dbname=postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {DATABASE} TEMPLATE {TEMPLATE}".encode())
        with psycopg.connect(f"{dsn} dbname={DATABASE}", autocommit=True) as db:
            have = 0
            step = a.days * 86400 / sizes[-1]
            t0 = time.time() - a.days * 86400
            for size in sizes:
                seed(db, have, size, a.keys, t0, step)
                have = size
                with serving(pg, home) as (api, pid):
                    results[f"{size:,}"] = measure(api, pid, a.repeat, a.warmup)
                print_table(f"{size:,} artifacts", results[f"{size:,}"])
            if a.explain:
                in_database[f"{sizes[-1]:,}"] = explain(pg, db, home)
            for ddl in a.index:
                t = time.perf_counter()
                db.execute(ddl.encode())
                db.execute(b"ANALYZE")
                print(f"{ddl}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
            if a.index:
                label = f"{sizes[-1]:,} + index"
                with serving(pg, home) as (api, pid):
                    results[label] = measure(api, pid, a.repeat, a.warmup)
                print_table(label, results[label])
                if a.explain:
                    in_database[label] = explain(pg, db, home)
    finally:
        pg.stop()
        shutil.rmtree(home, ignore_errors=True)
    print(f"load average at end: {os.getloadavg()}", file=sys.stderr)
    print_summary(results, in_database)


def seed(db: psycopg.Connection[Any], lo: int, hi: int, keys: int, t0: float, step: float) -> None:
    """Version rows lo .. hi - 1, then every key's collection row again, then VACUUM ANALYZE."""
    json_type = db.execute(
        b"SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        b" WHERE attrelid = 'artifacts'::regclass AND attname = 'data'"
    ).fetchone()
    assert json_type is not None
    # `data` is text or json depending on the schema's revision: the JSON text fits both.
    params = {
        "lo": lo,
        "hi": hi,
        "keys": keys,
        "t0": t0,
        "step": step,
        "ws": DEFAULT_WORKSPACE_ID,
        "markdown": MARKDOWN,
        "step_row": STEP_ROW,
    }
    uuid7 = UUID7.format(made="v.made", h="v.h", i="v.i")
    versions = SEED_VERSIONS.format(uuid7=uuid7, json_type=json_type[0])
    collections = SEED_COLLECTIONS.format(uuid7=UUID7.format(made="k.first_made", h="k.h", i="k.i"))
    for what, statement in (("versions", versions), ("collections", collections)):
        t = time.perf_counter()
        with db.transaction():
            for part in statement.split(";"):
                if part.strip():
                    db.execute(part.strip().encode(), params)
        print(f"seeded {what} to {hi:,}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    t = time.perf_counter()
    db.execute(b"VACUUM ANALYZE")
    size = db.execute(b"SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    counts = db.execute(
        b"SELECT (SELECT count(*) FROM artifacts), (SELECT count(*) FROM artifact_collections),"
        b" (SELECT avg(length(data::text))::int FROM artifacts WHERE type = 'markdown')"
    ).fetchone()
    assert size is not None and counts is not None
    print(
        f"VACUUM ANALYZE: {time.perf_counter() - t:.0f} s; {counts[0]:,} versions, "
        f"{counts[1]:,} keys, markdown ~{counts[2]} bytes; database {size[0]}",
        file=sys.stderr,
    )


@contextmanager
def serving(pg: PostgresServer, home: Path) -> Iterator[tuple[httpx.Client, int]]:
    """`runfolio server start` on the seeded database (1 worker), and a client of its API."""
    port = free_port()
    runfolio = shutil.which("runfolio", path=str(Path(sys.executable).parent)) or "runfolio"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env |= {"RUNFOLIO_HOME": str(home), "RUNFOLIO_DATABASE_URL": pg.url(DATABASE)}
    # Its banner goes to stderr: stdout holds only the plans and the summary table.
    server = subprocess.Popen(
        [runfolio, "server", "start", "--port", str(port)], env=env, stdout=sys.stderr
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=60) as api:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if api.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("runfolio server did not come up")
                time.sleep(0.2)
            yield api, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its descendants so far."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        used[child] = (int(fields[11]) + int(fields[12])) / tick
    tree, total = {pid}, 0.0
    for child in sorted(parents):  # children have higher ids, bar pid wrap-around
        if child in tree or parents[child] in tree:
            tree.add(child)
            total += used[child]
    return total


def measure(api: httpx.Client, pid: int, repeat: int, warmup: int) -> list[Timing]:
    out = []
    for name, path, body in BODIES:
        rows = 0
        for _ in range(warmup):
            answer = call(api, path, body)
            rows = len(answer) if isinstance(answer, list) else 0
        latencies = []
        cpu = cpu_seconds(pid)
        for _ in range(repeat):
            t = time.perf_counter()
            call(api, path, body)
            latencies.append((time.perf_counter() - t) * 1000)
        cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / repeat
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        out.append(Timing(name, rows, statistics.median(latencies), cuts[94], cuts[98], cpu_ms))
    return out


def call(api: httpx.Client, path: str, body: dict[str, Any] | None) -> Any:
    response = api.get(path) if body is None else api.post(path, json=body)
    response.raise_for_status()
    return response.json()


def explain(pg: PostgresServer, db: psycopg.Connection[Any], home: Path) -> dict[str, float]:
    """Each body's statements with their EXPLAIN ANALYZE plans, from auto_explain's log
    of what the server itself ran (its own SQL and parameters); returns each body's
    time in PostgreSQL (its artifact statements' durations added up)."""
    for setting in (
        "session_preload_libraries = 'auto_explain'",
        "auto_explain.log_min_duration = 0",
        "auto_explain.log_analyze = on",
        "auto_explain.log_buffers = on",
    ):
        db.execute(f"ALTER DATABASE {DATABASE} SET {setting}".encode())
    log = pg.dir / "server.log"
    durations: dict[str, float] = {}
    try:
        with serving(pg, home) as (api, _):
            for name, path, body in BODIES:
                if body is None:
                    continue
                for _ in range(3):  # past any first-run planning of the statement
                    call(api, path, body)
                start = log.stat().st_size
                call(api, path, body)
                time.sleep(0.5)  # the log is written by the backend, asynchronously to us
                with log.open(errors="replace") as f:
                    f.seek(start)
                    logged = f.read()
                print(f"\n### {name}: POST /api{path} {body}\n")
                durations[name] = 0.0
                for entry in logged.split("LOG:  duration:")[1:]:
                    if "artifact" in entry:
                        # The entry ends where the next log line (its timestamp) begins.
                        print("```\nduration:" + entry.rstrip().split("\n20")[0] + "\n```")
                        durations[name] += float(entry.split()[0])
    finally:
        db.execute(f"ALTER DATABASE {DATABASE} RESET ALL".encode())
    return durations


def print_table(title: str, timings: list[Timing]) -> None:
    print(f"\n{title}:", file=sys.stderr)
    for t in timings:
        print(
            f"  {t.name:<36} rows {t.rows:>3}  p50 {t.p50:7.2f} ms  p95 {t.p95:7.2f} ms"
            f"  server CPU {t.cpu_ms:6.2f} ms",
            file=sys.stderr,
        )


def print_summary(
    results: dict[str, list[Timing]], in_database: dict[str, dict[str, float]]
) -> None:
    sizes = list(results)
    heads = [f"p50 / p95 ms (server CPU ms) at {s}" for s in sizes]
    heads += [f"in PostgreSQL ms at {s}" for s in in_database]
    print("\n| request (limit 50) | " + " | ".join(heads) + " |")
    print("|---|" + "---|" * len(heads))
    for n, (name, _, body) in enumerate(BODIES):
        cells = []
        for s in sizes:
            t = results[s][n]
            flag = " ✗" if name.startswith("latest") and t.p50 > TARGET_P50_MS else ""
            cells.append(f"{t.p50:.2f} / {t.p95:.2f} ({t.cpu_ms:.2f}){flag}")
        for durations in in_database.values():
            cells.append("–" if body is None else f"{durations.get(name, float('nan')):.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(
        f"\n✗: a latest/filter p50 over the {TARGET_P50_MS:g} ms target. Server CPU: the "
        "runfolio server's CPU per request (not PostgreSQL's). In PostgreSQL: the "
        "request's statements on artifact tables, one request, with EXPLAIN ANALYZE's own "
        "overhead (auto_explain)."
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
