#!/usr/bin/env python3
"""Per-task overhead of runfolio's DaskTaskRunner over bare `distributed.Client.submit`.

One 2-worker LocalCluster (processes, 1 thread each) and one `runfolio server start`
(open, SQLite) serve every variant, run round-robin so machine noise falls on all:

- `bare`: `client.submit(fn, i)` × N, then `.result()` of each (as the flows collect
  theirs: one `gather` of all would be faster in every variant); `fn` writes nothing.
- `bare + artifact`: the same, `fn` writing one markdown artifact through runfolio's
  client directly (one client per worker process, over HTTP).
- `runfolio, no artifact`: the same flow with a `@task` that writes nothing itself
  (what recording the task run costs).
- `runfolio`: `@flow(task_runner=DaskTaskRunner(address=...))` mapping a `@task` that
  creates one markdown artifact (`create_markdown_artifact`) over N inputs: task runs
  recorded from the workers, the flow run's start and end included.

With `--prefect`, then the same flow with Prefect 3.9.1 and prefect-dask (the cached compat
virtualenv) against Prefect's own server (`prefect server start`, SQLite), on a 2-worker
LocalCluster of that virtualenv, with its own bare baseline in the same run.

Per-task overhead = (variant − baseline) / N. Target: runfolio adds ≤ 2 ms per task
(`runfolio` over `bare + artifact`; `runfolio, no artifact` over `bare`). Run by hand, never in CI:

    .venv/bin/python bench/dask_overhead.py --tasks 1000 --runs 3 [--prefect]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, running_server  # noqa: E402

PREFECT_VENV = Path.home() / ".cache" / "runfolio" / "compat-venv-prefect-3.9.1"

PREFECT_SCRIPT = """
import json, sys, time
from distributed import Client, LocalCluster
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect_dask import DaskTaskRunner


@task
def part(i):
    create_markdown_artifact(f"# part {i}", key=f"part-{i}")
    return i * i


def bare(i):
    return i * i


if __name__ == "__main__":
    n, runs = int(sys.argv[1]), int(sys.argv[2])
    kwargs = dict(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with LocalCluster(**kwargs) as cluster, Client(cluster) as client:
        runner = DaskTaskRunner(address=cluster.scheduler_address)

        @flow(name="dask-overhead", task_runner=runner)
        def parts(count):
            return [f.result() for f in part.map(range(count))]

        def run_bare():
            return [f.result() for f in [client.submit(bare, i, pure=False) for i in range(n)]]

        parts(20), run_bare()  # warm-up
        times = {"bare (Prefect venv)": [], "Prefect 3.9.1 + prefect-dask": []}
        for _ in range(runs):
            for name, run in zip(times, (run_bare, lambda: parts(n))):
                started = time.perf_counter()
                assert list(run()) == [i * i for i in range(n)]
                times[name].append(time.perf_counter() - started)
            print("round", {k: round(v[-1], 2) for k, v in times.items()}, flush=True)
        print("TIMES " + json.dumps(times))
"""

from runfolio import flow, task  # noqa: E402
from runfolio.artifacts import create_markdown_artifact  # noqa: E402
from runfolio.client import RunfolioClient, client_for, use_client  # noqa: E402
from runfolio.settings import Settings  # noqa: E402
from runfolio.task_runners import DaskTaskRunner  # noqa: E402


def bare(i: int) -> int:
    return i * i


def bare_with_artifact(i: int, api_url: str, home: str) -> int:
    from distributed import get_worker

    from runfolio.schemas.artifacts import ArtifactCreate

    # One client per worker process, as runfolio's runner keeps: held by the worker, since
    # a module global of this script would be pickled anew with every task.
    worker = get_worker()
    client: RunfolioClient | None = getattr(worker, "bench_runfolio_client", None)
    if client is None:
        client = client_for(Settings(api_url=api_url, home=Path(home)))
        worker.bench_runfolio_client = client  # type: ignore[attr-defined]
    client.create_artifact(ArtifactCreate(key=f"bare-{i}", type="markdown", data=f"# part {i}"))
    return i * i


@task
def plain(i: int) -> int:
    return i * i


@task
def part(i: int) -> int:
    create_markdown_artifact(f"# part {i}", key=f"part-{i}")
    return i * i


def timed(run: Callable[[], list[int]], n: int) -> float:
    started = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - started
    assert result == [i * i for i in range(n)], "wrong results"
    return elapsed


def prefect_times(n: int, runs: int) -> dict[str, list[float]]:
    """Prefect's flow and its bare baseline, timed in the compat virtualenv."""
    import httpx

    python = PREFECT_VENV / "bin" / "python"
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNFOLIO_", "PREFECT_"))}
        env.update(
            PREFECT_HOME=str(Path(tmp) / "prefect-home"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        )
        server = subprocess.Popen(
            [
                python,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Prefect's server did not start")
                time.sleep(0.5)
            script = Path(tmp) / "prefect_flow.py"
            script.write_text(PREFECT_SCRIPT)
            done = subprocess.run(
                [python, str(script), str(n), str(runs)],
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            rounds = [x for x in done.stdout.splitlines() if x.startswith("round")]
            print("\n".join(f"Prefect {x}" for x in rounds))
            line = next((x for x in done.stdout.splitlines() if x.startswith("TIMES ")), None)
            if done.returncode != 0 or line is None:
                raise RuntimeError(f"Prefect flow failed:\n{done.stdout}\n{done.stderr[-3000:]}")
            times: dict[str, list[float]] = json.loads(line.removeprefix("TIMES "))
            return times
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prefect", action="store_true", help="also Prefect + prefect-dask")
    args = parser.parse_args()
    n = args.tasks

    from distributed import Client, LocalCluster

    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp) / "server") as server,
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as dask,  # type: ignore[no-untyped-call]
    ):
        home = str(Path(tmp) / "sdk")
        use_client(client_for(Settings(api_url=server.api_url, home=Path(home))))
        runner = DaskTaskRunner(address=cluster.scheduler_address)

        @flow(name="dask-overhead", task_runner=runner)
        def parts(count: int) -> list[int]:
            return [f.result() for f in part.map(range(count))]

        @flow(name="dask-overhead-plain", task_runner=runner)
        def plains(count: int) -> list[int]:
            return [f.result() for f in plain.map(range(count))]

        def run_bare() -> list[int]:
            futures = [dask.submit(bare, i, pure=False) for i in range(n)]
            return [f.result() for f in futures]  # one by one, as the flows below do

        def run_bare_artifact() -> list[int]:
            futures = [
                dask.submit(bare_with_artifact, i, server.api_url, home, pure=False)
                for i in range(n)
            ]
            return [f.result() for f in futures]

        def run_runfolio() -> list[int]:
            return parts(n)

        def run_runfolio_plain() -> list[int]:
            return plains(n)

        variants: dict[str, Callable[[], list[int]]] = {
            "bare": run_bare,
            "bare + artifact": run_bare_artifact,
            "runfolio, no artifact": run_runfolio_plain,
            "runfolio": run_runfolio,
        }
        for run in variants.values():  # warm-up: imports and clients on the workers
            run()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for round_ in range(args.runs):
            for name, run in variants.items():
                times[name].append(timed(run, n))
            print(
                f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
            )

    if args.prefect:
        times.update(prefect_times(n, args.runs))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"\n{n} tasks, 2-worker LocalCluster, median of {args.runs} rounds\n")
    print("| variant | total s | ms per task | added over bare | added over bare + artifact |")
    print("|---|---|---|---|---|")
    for name, total in med.items():
        # Prefect's rows are measured against the bare run in its own virtualenv.
        prefect = name.startswith(("Prefect", "bare (Prefect"))
        bare_total = med["bare (Prefect venv)"] if prefect else med["bare"]
        over_bare = f"{(total - bare_total) / n * 1000:+.2f} ms"
        over_art = "" if prefect else f"{(total - med['bare + artifact']) / n * 1000:+.2f} ms"
        print(f"| {name} | {total:.2f} | {total / n * 1000:.2f} | {over_bare} | {over_art} |")
    print()
    for name, base in (("runfolio", "bare + artifact"), ("runfolio, no artifact", "bare")):
        added = (med[name] - med[base]) / n * 1000
        verdict = "met" if added <= 2 else "not met"
        print(f"{name} adds {added:.2f} ms per task over {base} (target ≤ 2 ms): {verdict}")


if __name__ == "__main__":
    main()
