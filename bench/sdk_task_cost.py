#!/usr/bin/env python3
"""What the SDK adds per task: a `@task` call inside a `@flow` against a plain call.

Each transport runs in a fresh interpreter: embedded (a SQLite file under a temporary
RUNFOLIO_HOME) and HTTP (a `runfolio server start` on loopback). In each, flows of N
sequential tasks and flows of 0 tasks alternate over the rounds; per-task cost is
(flow of N − flow of 0) / N, so the flow run's own start and end (and the final write of
the batched task runs) are counted once, not per task. Variants:

- `plain call`: the undecorated function, N times (the baseline);
- `task, no artifact`: a `@task` that only computes (target: ≤ 0.1 ms over the plain call);
- `task + 1 artifact`: a `@task` that creates one keyed markdown artifact;
- `artifact outside a flow`: `create_markdown_artifact` alone, N times.

Run by hand, never in CI:

    .venv/bin/python bench/sdk_task_cost.py --tasks 500 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import running_server  # noqa: E402

SCRIPT = """
import json, statistics, sys, time
from runfolio import flow, task
from runfolio.artifacts import create_markdown_artifact

n, rounds = int(sys.argv[1]), int(sys.argv[2])


def square(i):
    return i * i


@task
def bare_task(i):
    return i * i


@task
def artifact_task(i):
    create_markdown_artifact(f"# part {i}", key=f"part-{i % 50}")
    return i * i


@flow
def tasks(kind: str, count: int):
    fn = bare_task if kind == "bare" else artifact_task
    for i in range(count):
        fn(i)


def timed(call):
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def plain():
    for i in range(n):
        square(i)


def outside():
    for i in range(n):
        create_markdown_artifact(f"# part {i}", key=f"out-{i % 50}")


tasks("bare", 1)  # warm: the client, the store, the first flow
create_markdown_artifact("# warm", key="warm")
per = {"plain": [], "bare": [], "artifact": [], "outside": []}
for _ in range(rounds):
    per["plain"].append(timed(plain) / n)
    for kind in ("bare", "artifact"):
        empty = timed(lambda: tasks(kind, 0))
        full = timed(lambda: tasks(kind, n))
        per[kind].append((full - empty) / n)
    per["outside"].append(timed(outside) / n)
print(json.dumps({k: statistics.median(v) for k, v in per.items()}))
"""


def run(env: dict[str, str], tasks: int, rounds: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tasks), str(rounds)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tasks", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()

    base = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="runfolio-sdk-") as tmp:
        results["embedded"] = run({**base, "RUNFOLIO_HOME": f"{tmp}/embedded"}, a.tasks, a.rounds)
        with running_server(Path(tmp) / "server") as server:
            env = {**base, "RUNFOLIO_HOME": f"{tmp}/client", "RUNFOLIO_API_URL": server.api_url}
            results["http"] = run(env, a.tasks, a.rounds)

    print(f"## SDK cost per task, {a.tasks} tasks, median of {a.rounds} rounds\n")
    print("| transport | plain call µs | task, no artifact: over plain µs | task + 1 artifact ms "
          "| artifact outside a flow ms |")  # fmt: skip
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['plain'] * 1e6:.2f} | {(r['bare'] - r['plain']) * 1e6:.1f} "
            f"| {r['artifact'] * 1e3:.3f} | {r['outside'] * 1e3:.3f} |"
        )
    over = max((r["bare"] - r["plain"]) * 1e3 for r in results.values())
    print(f"\ntask with no artifact over a plain call: {over:.3f} ms (target ≤ 0.1 ms: "
          f"{'met' if over <= 0.1 else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
