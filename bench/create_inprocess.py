#!/usr/bin/env python3
"""In-process CPU per artifact create (and progress update), without sockets.

Two layers are measured in one run, each after a warm-up:

- `app`: `POST /api/artifacts/` through the ASGI app, called directly (no HTTP
  server, no client): the whole server's CPU per create.
- `op`:  `runfolio.ops.create_artifact` on the app's own engine, as the server's
  gate runs it inline on SQLite (inside `without_waiting()`): the database side.
- `update`: `runfolio.ops.update_artifact` the same way (a progress update, as
  `PATCH /api/artifacts/{id}` runs it).
- `taskruns`: `runfolio.ops.record_task_runs` with batches of `--batch` new task runs
  of two states each (Running, Completed), as the SDK's embedded recorder writes them:
  the background writer's CPU per task run (the records are built beforehand).
- `raw` (SQLite only): the same rows written by hand on the bare sqlite3 driver, one
  BEGIN IMMEDIATE ... COMMIT per create, on a connection of its own to the same file
  (WAL, synchronous=NORMAL): the floor, and the `op / raw` ratio.

CPU is `time.process_time()` (every thread of the process), divided by the count;
each layer runs several rounds and the best (least disturbed) and median are printed.
The workload is the reference harness's markdown create (`markdown_create(i, 50)`:
50 keys, a few KB of markdown each). Run by hand, never in CI:

    .venv/bin/python bench/create_inprocess.py                 # SQLite, a temp dir
    .venv/bin/python bench/create_inprocess.py --pg            # a throw-away PostgreSQL
    .venv/bin/python bench/create_inprocess.py --url URL       # any database URL
    .venv/bin/python bench/create_inprocess.py --prof op       # cProfile of one layer
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import json
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/pg.py runs the throw-away PostgreSQL server
DEFAULT_HARNESS = ROOT.parent / "shared" / "bench"
LAYERS = ("app", "op", "update", "taskruns", "raw")
# The `raw` layer (SQLite only): a create's statements written by hand on the bare
# sqlite3 driver, values encoded as runfolio stores them; the floor the op is compared to.
_RAW_VERSION = (
    "INSERT INTO artifacts (id, workspace_id, key, type, description, data, metadata_, "
    "flow_run_id, task_run_id, created_by, created, updated) "
    "VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, ?, ?)"
)
_RAW_COLLECTION = (
    "INSERT INTO artifact_collections (id, workspace_id, key, latest_id, type, description, "
    "data, metadata_, flow_run_id, task_run_id, created, updated, latest_created) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?, ?) "
    "ON CONFLICT (workspace_id, key) DO UPDATE SET latest_id = excluded.latest_id, "
    "updated = excluded.updated, type = excluded.type, description = excluded.description, "
    "data = excluded.data, metadata_ = excluded.metadata_, flow_run_id = excluded.flow_run_id, "
    "task_run_id = excluded.task_run_id, latest_created = excluded.latest_created "
    "WHERE (artifact_collections.latest_created, artifact_collections.latest_id) "
    "< (excluded.latest_created, excluded.latest_id)"
)
_RAW_CHANGE = (
    "INSERT INTO changes (workspace_id, topic, action, subject_id, key, flow_run_id, at) "
    "VALUES (?, 'artifact', 'created', ?, ?, NULL, ?)"
)

Message = dict[str, Any]


def _scope(method: str, path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:4200"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 4200),
        "state": {},
    }


async def _call(app: Any, method: str, path: str, body: bytes) -> int:
    """One request through the ASGI app; its status."""
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:  # the app asks again only to watch for a disconnect
            await asyncio.sleep(3600)
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope(method, path, body), receive, send)
    return int(sent[0]["status"])


async def _measured(
    label: str, count: int, rounds: int, batch: Callable[[], Awaitable[None]], profile: bool
) -> None:
    """Run `batch` (`count` calls) `rounds` times; print the best and the median round
    (the best is the one least disturbed by the machine's other work)."""
    profiler = cProfile.Profile() if profile else None
    cpu_us, wall_us = [], []
    for _ in range(rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        await batch()
        if profiler:
            profiler.disable()
        cpu_us.append((time.process_time() - cpu) / count * 1e6)
        wall_us.append((time.perf_counter() - wall) / count * 1e6)
    print(
        f"{label:>7}: {min(cpu_us):6.0f} us CPU best, {statistics.median(cpu_us):6.0f} median, "
        f"{min(wall_us):6.0f} us wall best per call ({rounds} rounds of {count})"
    )
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(50)


async def _run(args: argparse.Namespace, url: str | None) -> None:
    sys.path.insert(0, str(args.harness))
    from artifact_bench import markdown_create  # the reference harness's workload

    from runfolio.ops import artifacts as ops
    from runfolio.ops import record_task_runs
    from runfolio.ops.context import Context
    from runfolio.schemas.artifacts import ArtifactCreate, ArtifactUpdate
    from runfolio.server.app import create_app
    from runfolio.settings import load_settings
    from runfolio.store.engine import without_waiting
    from runfolio.store.tables import DEFAULT_WORKSPACE_ID

    os.environ["RUNFOLIO_HOME"] = tempfile.mkdtemp(prefix="runfolio-bench-")
    if url:
        os.environ["RUNFOLIO_DATABASE_URL"] = url
    settings = load_settings()
    app = create_app(settings)
    engine = app.state.engine
    ctx = Context.configured(engine, settings)
    # As the server's gate: inline on SQLite (never waiting), plainly elsewhere.
    inline = without_waiting if engine.dialect.name == "sqlite" else contextlib.nullcontext

    def op(fn: Callable[..., object], *a: object) -> None:
        with inline():
            fn(ctx, *a)

    n, warm, rounds = args.n, args.warmup, args.rounds
    bodies = [markdown_create(i, 50) for i in range(n + warm)]
    encoded = [json.dumps(body).encode() for body in bodies]
    creates = [ArtifactCreate.model_validate(body) for body in bodies]
    print(f"database: {engine.url.render_as_string(hide_password=True)}")

    async def posts(batch: list[bytes]) -> None:
        for body in batch:
            await _call(app, "POST", "/api/artifacts/", body)

    async def calls(fn: Callable[..., object], batch: Sequence[tuple[object, ...]]) -> None:
        for a in batch:
            op(fn, *a)

    if "app" in args.layers:
        assert await _call(app, "POST", "/api/artifacts/", encoded[0]) == 201
        await posts(encoded[:warm])
        await _measured("app", n, rounds, lambda: posts(encoded[warm:]), args.prof == "app")
    if "op" in args.layers:
        ops_args = [(action,) for action in creates]
        await calls(ops.create_artifact, ops_args[:warm])
        measured = ops_args[warm:]
        create = ops.create_artifact
        await _measured("op", n, rounds, lambda: calls(create, measured), args.prof == "op")
    if "update" in args.layers:
        made, _ = ops.create_artifact(ctx, ArtifactCreate(type="progress", data=0.0, key="p"))
        updates = [(made.id, ArtifactUpdate(data=i / (n + warm))) for i in range(n + warm)]
        await calls(ops.update_artifact, updates[:warm])
        measured_updates = updates[warm:]
        update = ops.update_artifact
        profile = args.prof == "update"
        await _measured("update", n, rounds, lambda: calls(update, measured_updates), profile)
    if "taskruns" in args.layers:
        # New runs every round (a batch written again would be a replay, which writes nothing).
        size = args.batch
        warm_runs = _task_run_batches(warm, size)
        fresh = iter([_task_run_batches(n, size) for _ in range(rounds)])

        async def records(chosen: list[list[Any]]) -> None:
            for batch in chosen:
                op(record_task_runs, batch)

        await records(warm_runs)
        profile = args.prof == "taskruns"
        await _measured("taskruns", n, rounds, lambda: records(next(fresh)), profile)
    if "raw" in args.layers and engine.dialect.name == "sqlite":
        raw = sqlite3.connect(engine.url.database or "", isolation_level=None)
        raw.execute("PRAGMA synchronous=NORMAL")
        workspace = DEFAULT_WORKSPACE_ID.hex

        def raw_create(body: dict[str, Any]) -> None:
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")
            version = uuid.uuid4().hex
            data = json.dumps(body["data"], ensure_ascii=False, separators=(",", ":"))
            fields = (body["key"], body["type"], body["description"])
            raw.execute("BEGIN IMMEDIATE")
            raw.execute(_RAW_VERSION, (version, workspace, *fields, data, now, now))
            collection = (uuid.uuid4().hex, workspace, body["key"], version)
            raw.execute(_RAW_COLLECTION, (*collection, *fields[1:], data, now, now, now))
            raw.execute(_RAW_CHANGE, (workspace, version, body["key"], now))
            raw.execute("COMMIT")

        async def raws(batch: list[dict[str, Any]]) -> None:
            for body in batch:
                raw_create(body)

        await raws(bodies[:warm])
        await _measured("raw", n, rounds, lambda: raws(bodies[warm:]), args.prof == "raw")
        raw.close()
    engine.dispose()


def _task_run_batches(count: int, size: int) -> list[list[Any]]:
    """`count` new task runs of one flow run, Running then Completed, in batches of `size`."""
    from runfolio._attempts import StateNote
    from runfolio.schemas.common import new_id, utcnow
    from runfolio.schemas.runs import TaskRunCreate, TaskRunRecord

    flow_run_id = None  # the recorder's runs outside a flow carry none either
    made = []
    for i in range(count):
        running = StateNote("RUNNING", "Running", None, utcnow()).create()
        completed = StateNote("COMPLETED", "Completed", None, utcnow()).create()
        action = TaskRunCreate(
            id=new_id(),
            name=f"work-{i}",
            flow_run_id=flow_run_id,
            task_key="bench.work",
            dynamic_key=str(i),
            tags=[],
            task_inputs={"x": []},
            state=running,
        )
        made.append(TaskRunRecord.model_construct(task_run=action, states=[running, completed]))
    return [made[i : i + size] for i in range(0, count, size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="calls per measured round")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per layer")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured calls first")
    parser.add_argument("--batch", type=int, default=100, help="task runs per taskruns batch")
    parser.add_argument("--url", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--pg", action="store_true", help="start a throw-away PostgreSQL")
    parser.add_argument("--layers", nargs="+", choices=LAYERS, default=list(LAYERS))
    parser.add_argument("--prof", choices=LAYERS, help="print a cProfile of this layer")
    parser.add_argument("--harness", type=Path, default=DEFAULT_HARNESS)
    args = parser.parse_args()
    if not args.pg:
        asyncio.run(_run(args, args.url))
        return
    from tests.pg import PostgresServer

    server = PostgresServer()
    try:
        server.start()
        with server.database() as url:
            asyncio.run(_run(args, url))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
