"""CPU per artifact create and progress update through the whole ASGI app, with the hot
routes (`runfolio.server.hot_routes`) and without (every request through FastAPI's routing).

Both apps are built in this process on their own SQLite file and driven directly (no
sockets), in alternating rounds, so a busy machine weighs on both alike. Prints each
round's median CPU per call and the ratio on/off. Run by hand:

    .venv/bin/python bench/hot_routes.py -n 500 --rounds 7
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from starlette.types import ASGIApp

DEFAULT_HARNESS = Path(__file__).resolve().parents[2] / "shared" / "bench"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from create_inprocess import _call  # noqa: E402 (one ASGI driver for both benches)


async def _cpu_per_call(app: ASGIApp, calls: list[tuple[str, str, bytes]], status: int) -> float:
    start = time.process_time()
    for method, path, body in calls:
        answered = await _call(app, method, path, body)
        assert answered == status, (method, path, answered)
    return (time.process_time() - start) / len(calls) * 1e6


async def _run(n: int, rounds: int, harness: Path) -> None:
    sys.path.insert(0, str(harness))
    from artifact_bench import markdown_create  # the reference harness's workload

    from runfolio.server.app import create_app
    from runfolio.settings import load_settings

    apps = {}
    progress = {}
    for hot in (False, True):
        os.environ["RUNFOLIO_HOME"] = tempfile.mkdtemp(prefix="runfolio-bench-")
        app = apps[hot] = create_app(load_settings(), hot_routes=hot)
        progress[hot] = str(uuid.uuid4())
        body = json.dumps({"id": progress[hot], "type": "progress", "data": 0.0}).encode()
        assert await _call(app, "POST", "/api/artifacts/", body) == 201
    creates: dict[bool, list[float]] = {False: [], True: []}
    updates: dict[bool, list[float]] = {False: [], True: []}
    made = 0
    for round_ in range(rounds + 1):  # the first round warms up
        for hot, app in apps.items():
            posts = [
                ("POST", "/api/artifacts/", json.dumps(markdown_create(made + i, 50)).encode())
                for i in range(n)
            ]
            made += n
            patches = [
                ("PATCH", f"/api/artifacts/{progress[hot]}", b'{"data": %d}' % i) for i in range(n)
            ]
            create_us = await _cpu_per_call(app, posts, 201)
            update_us = await _cpu_per_call(app, patches, 204)
            if round_:
                creates[hot].append(create_us)
                updates[hot].append(update_us)
    print(f"{rounds} rounds of {n} calls each; us CPU per call, median of the rounds")
    print("| call | hot routes off | hot routes on | on / off |\n|---|---|---|---|")
    for label, figures in (("create", creates), ("progress update", updates)):
        off, on = statistics.median(figures[False]), statistics.median(figures[True])
        print(f"| {label} | {off:.0f} | {on:.0f} | {on / off:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=500, help="calls per round and app")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--harness", type=Path, default=DEFAULT_HARNESS)
    args = parser.parse_args()
    asyncio.run(_run(args.n, args.rounds, args.harness))


if __name__ == "__main__":
    main()
