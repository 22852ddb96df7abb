#!/usr/bin/env python3
"""What the SDK adds per task: a `@task` call inside a `@flow` against a plain call.

Each transport runs in a fresh interpreter: embedded (a SQLite file under a temporary
RUNFOLIO_HOME) and HTTP (a `runfolio server start` on loopback). In each, flows of N
sequential tasks and flows of 0 tasks alternate over the rounds; per-task cost is
(flow of N − flow of 0) / N, so the flow run's own start and end are counted once, not per
task (the task runs' batched writes, the last one at the flow's end, grow with N and are
counted per task). Each figure is given as wall
time and as the process's CPU time (all its threads: the recorder's writes too; over
HTTP not the server's), which a machine shared with other work inflates less. Over HTTP
the server's CPU time is given too (all its threads, from /proc/PID/task/*/schedstat,
Linux only): the flow's end waits for its last batch of task runs, so the server's time
per task run bounds the wall time per task. Variants:

- `plain call`: the undecorated function, N times (the baseline);
- `task, no artifact`: a `@task` that only computes (target: ≤ 0.1 ms over the plain call);
- `task + 1 artifact`: a `@task` that creates one keyed markdown artifact;
- `artifact outside a flow`: `create_markdown_artifact` alone, N times.

The same script runs Prefect 3.9.1 (against its own local server; N/5 tasks): the
per-task figures of the two SDKs compare marginal costs, a flow's start and end aside.

Then the reference harness (`flow_bench.py` in --harness: a flow of N tasks, each
creating one ~1.4 KB keyed markdown artifact; per_task_ms = flow wall / N, median of
--harness-runs fresh interpreters) measures runfolio embedded, runfolio over HTTP and
Prefect 3.9.1 against its own local server (`prefect server start --no-services`, its
default SQLite, from --prefect-venv), one after the other, and prints the ratios.

Run by hand, never in CI:

    .venv/bin/python bench/sdk_task_cost.py --tasks 500 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.compat.prefect_venv import NAME as PREFECT_VENV_NAME  # noqa: E402
from tests.compat.prefect_venv import cache_root, venv_python  # noqa: E402
from tests.servers import free_port, running_server  # noqa: E402

DEFAULT_HARNESS = Path("/work/shared/bench")

SCRIPT = """
import glob, importlib, json, logging, os, statistics, sys, time

n, rounds, sdk = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
flow, task = importlib.import_module(sdk).flow, importlib.import_module(sdk).task
create_markdown_artifact = importlib.import_module(f"{sdk}.artifacts").create_markdown_artifact
logging.disable(logging.INFO)  # Prefect logs every run: not what is measured


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


SERVER_PID = os.environ.get("BENCH_SERVER_PID")


def server_cpu():
    # Every thread's run time in ns (the first field of schedstat); 0 without a server.
    if SERVER_PID is None:
        return 0.0
    total = 0
    for path in glob.glob(f"/proc/{SERVER_PID}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):  # a thread that ended meanwhile
            pass
    return total / 1e9


def timed(call):
    started, cpu, server = time.perf_counter(), time.process_time(), server_cpu()
    call()
    return (
        time.perf_counter() - started,
        time.process_time() - cpu,
        server_cpu() - server,
    )


def plain():
    for i in range(n):
        square(i)


def outside():
    for i in range(n):
        create_markdown_artifact(f"# part {i}", key=f"out-{i % 50}")


tasks("bare", 1)  # warm: the client, the store, the first flow
create_markdown_artifact("# warm", key="warm")
per = {k: [] for k in ("plain", "bare", "artifact", "outside")}
per.update({f"{k}_{what}": [] for k in list(per) for what in ("cpu", "server_cpu")})
for _ in range(rounds):
    for kind, call in (("plain", plain), ("outside", outside)):
        wall, cpu, server = timed(call)
        per[kind].append(wall / n)
        per[f"{kind}_cpu"].append(cpu / n)
        per[f"{kind}_server_cpu"].append(server / n)
    for kind in ("bare", "artifact"):
        empty = timed(lambda: tasks(kind, 0))
        full = timed(lambda: tasks(kind, n))
        per[kind].append((full[0] - empty[0]) / n)
        per[f"{kind}_cpu"].append((full[1] - empty[1]) / n)
        per[f"{kind}_server_cpu"].append((full[2] - empty[2]) / n)
print(json.dumps({k: statistics.median(v) for k, v in per.items()}))
"""


def run(
    env: dict[str, str],
    tasks: int,
    rounds: int,
    sdk: str = "runfolio",
    python: Path = Path(sys.executable),
) -> dict[str, float]:
    out = subprocess.run(
        [str(python), "-c", SCRIPT, str(tasks), str(rounds), sdk],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def harness_per_task_ms(
    harness: Path, python: Path, sdk: str, env: dict[str, str], tasks: int, runs: int
) -> float:
    """Median per_task_ms of the reference harness's flow of `tasks` artifact tasks."""
    out = subprocess.run(
        [str(python), str(harness / "flow_bench.py"), "--sdk", sdk, "--tasks", str(tasks),
         "--runs", str(runs), "--single-calls", "0"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(json.loads(out.stdout)["median"]["per_task_ms"])


@contextmanager
def prefect_server(python: Path, home: Path) -> Iterator[str]:
    """Prefect's own server on loopback (its default SQLite under `home`); its API URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNFOLIO_", "PREFECT_"))}
    env["PREFECT_HOME"] = str(home)
    process = subprocess.Popen(
        [str(python), "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port), "--no-services"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError("prefect server exited early")
            try:
                if httpx.get(f"{api_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prefect server did not become healthy in 120 s")
            time.sleep(0.2)
        yield api_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tasks", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--harness", type=Path, default=DEFAULT_HARNESS)
    ap.add_argument("--harness-tasks", type=int, default=200)
    ap.add_argument("--harness-runs", type=int, default=3)
    ap.add_argument("--prefect-venv", type=Path, default=cache_root() / PREFECT_VENV_NAME)
    ap.add_argument("--skip-harness", action="store_true", help="only the in-process variants")
    ap.add_argument(
        "--baseline-src",
        type=Path,
        help="a copy of src/ to measure first, as the baseline (the same server serves both)",
    )
    a = ap.parse_args()

    print(f"load average at start: {load_average()}\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RUNFOLIO_", "PREFECT_"))}
    results: dict[str, dict[str, float]] = {}
    per_task: dict[str, float] = {}
    me = Path(sys.executable)
    with tempfile.TemporaryDirectory(prefix="runfolio-sdk-") as tmp:
        embedded = {**base, "RUNFOLIO_HOME": f"{tmp}/embedded"}
        if a.baseline_src:
            old = {"PYTHONPATH": str(a.baseline_src), "RUNFOLIO_HOME": f"{tmp}/embedded-baseline"}
            results["embedded, baseline"] = run({**embedded, **old}, a.tasks, a.rounds)
        results["embedded"] = run(embedded, a.tasks, a.rounds)
        with running_server(Path(tmp) / "server") as server:
            http = {**base, "RUNFOLIO_HOME": f"{tmp}/client", "RUNFOLIO_API_URL": server.api_url}
            http["BENCH_SERVER_PID"] = str(server.process.pid)
            if a.baseline_src:
                old = {"PYTHONPATH": str(a.baseline_src)}
                results["http, baseline"] = run({**http, **old}, a.tasks, a.rounds)
            results["http"] = run(http, a.tasks, a.rounds)
            if not a.skip_harness:
                per_task["runfolio http"] = harness_per_task_ms(
                    a.harness, me, "runfolio", http, a.harness_tasks, a.harness_runs
                )
        if not a.skip_harness:
            per_task["runfolio embedded"] = harness_per_task_ms(
                a.harness, me, "runfolio", embedded, a.harness_tasks, a.harness_runs
            )
            prefect = venv_python(a.prefect_venv)
            with prefect_server(prefect, Path(tmp) / "prefect-home") as api_url:
                env = {**base, "PREFECT_HOME": f"{tmp}/prefect-home", "PREFECT_API_URL": api_url}
                # Prefect's runs are slow: fewer tasks for the same minutes (but enough that
                # its flow's own end, which varies by a second, does not swamp them).
                results["prefect 3.9.1 (its server)"] = run(
                    env, max(a.tasks // 5, 100), a.rounds, "prefect", prefect
                )
                per_task["prefect 3.9.1 (its server)"] = harness_per_task_ms(
                    a.harness, prefect, "prefect", env, a.harness_tasks, a.harness_runs
                )

    print(f"## SDK cost per task, {a.tasks} tasks, median of {a.rounds} rounds\n")
    print("| transport | plain call µs | task, no artifact: over plain µs (CPU µs) "
          "| task + 1 artifact ms (CPU ms) | artifact outside a flow ms (CPU ms) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for name, r in results.items():
        bare, bare_cpu = r["bare"] - r["plain"], r["bare_cpu"] - r["plain_cpu"]
        print(
            f"| {name} | {r['plain'] * 1e6:.2f} | {bare * 1e6:.1f} ({bare_cpu * 1e6:.1f}) "
            f"| {r['artifact'] * 1e3:.3f} ({r['artifact_cpu'] * 1e3:.3f}) "
            f"| {r['outside'] * 1e3:.3f} ({r['outside_cpu'] * 1e3:.3f}) |"
        )
    print("\nThe server's CPU per task over HTTP (all its threads): task, no artifact µs; "
          "task + 1 artifact ms\n")  # fmt: skip
    for name, r in results.items():
        if name.startswith("http"):
            print(f"- {name}: {r['bare_server_cpu'] * 1e6:.1f} µs; "
                  f"{r['artifact_server_cpu'] * 1e3:.3f} ms")  # fmt: skip
    over = max((results[t]["bare"] - results[t]["plain"]) * 1e3 for t in ("embedded", "http"))
    print(f"\ntask with no artifact over a plain call: {over:.3f} ms (target ≤ 0.1 ms: "
          f"{'met' if over <= 0.1 else 'NOT met'})")  # fmt: skip
    prefect_marginal = results.get("prefect 3.9.1 (its server)")
    if prefect_marginal:
        print("\n## task + 1 artifact, marginal cost: Prefect / runfolio (wall; CPU)\n")
        for name, target in (("embedded", "≥ 100"), ("http", "≥ 40")):
            r = results[name]
            print(
                f"- {name}: {prefect_marginal['artifact'] / r['artifact']:.1f} "
                f"({prefect_marginal['artifact_cpu'] / r['artifact_cpu']:.1f} CPU); "
                f"target {target}"
            )
    if per_task:
        prefect_ms = per_task["prefect 3.9.1 (its server)"]
        # Its flow wall holds each process's first flow: runfolio's deferred imports and
        # opening of the store land there (Prefect's imports are in its import_s).
        print(f"\n## flow_bench.py per task (one ~1.4 KB markdown artifact each), "
              f"{a.harness_tasks} tasks, median of {a.harness_runs} runs\n")  # fmt: skip
        print("| SDK | per_task_ms | Prefect / this | target |")
        print("|---|---|---|---|")
        targets = {"runfolio embedded": "≥ 100", "runfolio http": "≥ 40"}
        for name, ms in per_task.items():
            ratio = prefect_ms / ms
            print(f"| {name} | {ms:.3f} | {ratio:.1f} | {targets.get(name, '')} |")
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
