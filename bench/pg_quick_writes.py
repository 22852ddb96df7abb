"""CPU per artifact create and progress update on PostgreSQL, with the quick writes
(`runfolio.server.postgres_quick_writes`: one statement on the event loop) and without
(every write on a writer thread in a transaction), through the whole ASGI app.

Both apps run in this process with their lifespans, each on its own database of one
throw-away PostgreSQL server (tests/pg.py), and are driven directly (no sockets), in
alternating rounds, so a busy machine weighs on both alike. CPU is the process's (every
thread: the writer threads' too). Prints each round's median CPU per call, the ratio, and
the wall time per call. Run by hand:

    .venv/bin/python bench/pg_quick_writes.py -n 500 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from starlette.types import ASGIApp

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HARNESS = ROOT.parent / "shared" / "bench"
sys.path.insert(0, str(ROOT))  # tests/pg.py runs the PostgreSQL server, as for the tests
sys.path.insert(0, str(Path(__file__).resolve().parent))

from create_inprocess import _call  # noqa: E402 (one ASGI driver for the benches)
from tests.pg import postgres_server  # noqa: E402


async def _per_call(
    app: ASGIApp, calls: list[tuple[str, str, bytes]], status: int
) -> tuple[float, float]:
    """(CPU us, wall us) per call."""
    cpu, wall = time.process_time(), time.perf_counter()
    for method, path, body in calls:
        answered = await _call(app, method, path, body)
        assert answered == status, (method, path, answered)
    return (
        (time.process_time() - cpu) / len(calls) * 1e6,
        (time.perf_counter() - wall) / len(calls) * 1e6,
    )


async def _run(n: int, rounds: int, harness: Path, urls: dict[bool, str]) -> None:
    sys.path.insert(0, str(harness))
    from artifact_bench import markdown_create  # the reference harness's workload

    from runfolio.server.app import create_app
    from runfolio.settings import load_settings

    async with contextlib.AsyncExitStack() as stack:
        apps, progress = {}, {}
        for quick, url in urls.items():
            os.environ["RUNFOLIO_HOME"] = tempfile.mkdtemp(prefix="runfolio-bench-")
            os.environ["RUNFOLIO_DATABASE_URL"] = url
            app = apps[quick] = create_app(load_settings())
            await stack.enter_async_context(app.router.lifespan_context(app))
            if not quick:
                await app.state.gate.postgres_quick_writes.close()
                app.state.gate.postgres_quick_writes = None
            progress[quick] = str(uuid.uuid4())
            body = json.dumps({"id": progress[quick], "type": "progress", "data": 0.0}).encode()
            assert await _call(app, "POST", "/api/artifacts/", body) == 201
        figures: dict[tuple[str, bool], list[tuple[float, float]]] = {}
        made = 0
        for round_ in range(rounds + 1):  # the first round warms up
            for quick, app in apps.items():
                posts = [
                    ("POST", "/api/artifacts/", json.dumps(markdown_create(made + i, 50)).encode())
                    for i in range(n)
                ]
                made += n
                patches = [
                    ("PATCH", f"/api/artifacts/{progress[quick]}", b'{"data": %d}' % i)
                    for i in range(n)
                ]
                created = await _per_call(app, posts, 201)
                updated = await _per_call(app, patches, 204)
                if round_:
                    figures.setdefault(("create", quick), []).append(created)
                    figures.setdefault(("progress update", quick), []).append(updated)
    print(f"{rounds} rounds of {n} calls each; us per call, median of the rounds")
    print("| call | usual (CPU / wall) | quick (CPU / wall) | quick / usual, CPU |")
    print("|---|---|---|---|")
    for label in ("create", "progress update"):
        usual, quick_ = (
            [statistics.median(f[i] for f in figures[(label, q)]) for i in (0, 1)]
            for q in (False, True)
        )
        print(
            f"| {label} | {usual[0]:.0f} / {usual[1]:.0f} | {quick_[0]:.0f} / {quick_[1]:.0f} "
            f"| {quick_[0] / usual[0]:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=500, help="calls per round and app")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--harness", type=Path, default=DEFAULT_HARNESS)
    args = parser.parse_args()
    with postgres_server() as server, server.database() as usual, server.database() as quick:
        asyncio.run(_run(args.n, args.rounds, args.harness, {False: usual, True: quick}))


if __name__ == "__main__":
    main()
