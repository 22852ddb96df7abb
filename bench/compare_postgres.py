#!/usr/bin/env python3
"""runfolio (1 and 2 workers) against a bare app and Prefect's own server, on one PostgreSQL.

Starts a throwaway PostgreSQL server (tests/pg.py: initdb on a temp dir, a free
loopback port, as the `postgres` user when run as root), then runs the reference
harness's `series.py` once per system per round (round-robin, `--runs` rounds),
every run on a fresh database (`--reset` drops and recreates it), combines each
system's runs into one result file with the harness's medians, and prints the
harness's table plus the ratios our PostgreSQL targets are stated in. Run by hand,
never in CI:

    .venv/bin/python bench/compare_postgres.py --runs 2 --scale 100000

`--scale 0` leaves W6 out (bench/pg_scale.py seeds 1,000,000 artifacts in minutes
instead of loading them through the API). Systems (same PostgreSQL server, one
database each):
  pg-limit         bench/limit_postgres.py: raw ASGI + json + psycopg, one INSERT
                   committed per create, W1,W2,W4a: the floor of HTTP + JSON + psycopg
  pg-runfolio-1w   `runfolio server start`, W1,W2,W4 and W6 at --scale
  pg-runfolio-2w   `runfolio server start --workers 2`, W1,W2,W4 (W6 too with --scale-all)
  pg-prefect-3.9.1 `python -m prefect server start` from --prefect-venv on
                   postgresql+asyncpg, W1,W2,W4 (W6 at --prefect-scale if given:
                   Prefect loads ~80 artifacts/s, so 100,000 would take ~20 min a run)

Server CPU is the server's process tree only (PostgreSQL's backends are not in it),
alike for every system.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/pg.py runs the PostgreSQL server, as for the tests

from tests.pg import SUPERUSER, PostgresServer  # noqa: E402
from tests.servers import free_port  # noqa: E402

DEFAULT_HARNESS = ROOT.parent / "shared" / "bench"
DEFAULT_PREFECT_VENV = Path.home() / ".cache" / "runfolio" / "compat-venv-prefect-3.9.1"
W2 = "W2_conc_create_markdown"
W1 = "W1_seq_create_markdown"
LATEST = "W6_queries_at_scale.b_latest_filter_limit50"


def series(
    harness: Path,
    results: Path,
    label: str,
    start: str,
    reset: str,
    port: int,
    runs: int,
    bench_args: list[str],
) -> None:
    cmd = [
        sys.executable,
        str(harness / "series.py"),
        "--label", label,
        "--runs", str(runs),
        "--reset", reset,
        "--start", start,
        "--health", f"http://127.0.0.1:{port}/api/health",
        "--idle-s", "3",
        "--results", str(results),
        "--",
        "--api-url", f"http://127.0.0.1:{port}/api",
        *bench_args,
    ]  # fmt: skip
    print("$", shlex.join(cmd), file=sys.stderr)
    # Neither server may pick up a developer's own settings (a database URL, a
    # worker count, a Prefect profile): each start command sets what it needs.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNFOLIO_", "PREFECT_"))}
    subprocess.run(cmd, check=True, env=env)


def recreate(pg: PostgresServer, database: str, also: str = "") -> str:
    """A shell command that replaces `database` with an empty one (series' --reset)."""
    psql = shlex.join(
        [
            "env",
            "PGOPTIONS=--client-min-messages=warning",  # no NOTICE for a first DROP
            str(pg.bin / "psql"),
            "--quiet",
            "-h", "127.0.0.1",
            "-p", str(pg.port),
            "-U", SUPERUSER,
            "-d", "postgres",
            "-v", "ON_ERROR_STOP=1",
            # Separate -c's: CREATE DATABASE may not run inside a transaction block.
            "-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)",
            "-c", f"CREATE DATABASE {database} TEMPLATE template0",
        ]
    )  # fmt: skip
    return f"{psql}{' && ' + also if also else ''}"


def median(result: dict | None, workload: str, field: str) -> float | None:
    if result is None:
        return None
    value = result["medians"].get(workload, {}).get(field)
    return float(value) if value is not None else None


def load_seconds(result: dict | None) -> list[float]:
    """Wall time of each run's W6 bulk load (8 clients creating up to --scale)."""
    if result is None:
        return []
    return [
        r["bench"]["results"]["W6_scale_load"]["wall_s"]
        for r in result["runs"]
        if "W6_scale_load" in r["bench"]["results"]
    ]


@dataclass
class System:
    label: str
    start: str
    reset: str
    bench_args: list[str]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--harness", type=Path, default=DEFAULT_HARNESS)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument(
        "--scale",
        type=int,
        default=100_000,
        help="W6: artifacts in the database (e.g. 1000000, given the time); 0: no W6",
    )
    ap.add_argument("--scale-all", action="store_true", help="W6 on 2 workers as well")
    ap.add_argument("--prefect-venv", type=Path, default=DEFAULT_PREFECT_VENV)
    ap.add_argument("--prefect-scale", type=int, default=0, help="W6 on Prefect (0: none)")
    ap.add_argument(
        "--prefect-services",
        action="store_true",
        help="run Prefect's background services (its default, as the reference figures "
        "were measured); without it `--no-services`, so their periodic loops are not "
        "counted as CPU per create: the stricter comparison for runfolio",
    )
    ap.add_argument("--skip-prefect", action="store_true")
    ap.add_argument("--skip-limit", action="store_true", help="no bare pg-limit system")
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "postgres")
    a = ap.parse_args()

    a.results.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="runfolio-pgbench-"))
    runfolio = shutil.which("runfolio", path=str(Path(sys.executable).parent)) or "runfolio"
    port = free_port()
    base = ["--workloads", "W1,W2,W4", "--procs", "2"]
    with_scale = ["--workloads", "W1,W2,W4,W6", "--procs", "2", "--scale", str(a.scale)]
    if not a.scale:
        with_scale = base
    pg = PostgresServer()
    runs: dict[str, list[Path]] = {}
    try:
        pg.start()
        print(f"PostgreSQL on 127.0.0.1:{pg.port} ({pg.bin})", file=sys.stderr)
        url = pg.url("runfolio_bench")
        env = f"env RUNFOLIO_HOME={work / 'home'} RUNFOLIO_DATABASE_URL={url}"
        systems = [
            System(
                "pg-runfolio-1w",
                f"{env} {runfolio} server start --port {port}",
                recreate(pg, "runfolio_bench"),
                with_scale,
            ),
            System(
                "pg-runfolio-2w",
                f"{env} {runfolio} server start --port {port} --workers 2",
                recreate(pg, "runfolio_bench"),
                with_scale if a.scale_all else base,
            ),
        ]
        if not a.skip_limit:
            systems.append(limit_system(pg, port))
        if not a.skip_prefect:
            systems.append(prefect_system(a, pg, work, port))
        # Round-robin, one run of each system per round: the machine is shared, and
        # interleaving spreads whatever else runs on it over all systems alike.
        for n in range(1, a.runs + 1):
            for system in systems:
                label = f"{system.label}-round{n}"
                series(
                    a.harness, a.results, label, system.start, system.reset, port, 1,
                    system.bench_args,
                )  # fmt: skip
                runs.setdefault(system.label, []).append(a.results / f"{label}.json")
    finally:
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)

    combined = {label: combine(a.harness, a.results, label, files) for label, files in runs.items()}
    files = [a.results / f"{label}.json" for label in combined]
    subprocess.run([sys.executable, str(a.harness / "report_table.py"), *map(str, files)])
    print_targets(
        a,
        combined.get("pg-runfolio-1w"),
        combined.get("pg-runfolio-2w"),
        combined.get("pg-prefect-3.9.1"),
        combined.get("pg-limit"),
    )


def combine(harness: Path, results: Path, label: str, files: list[Path]) -> dict:
    """One result file as series.py writes it, from its one-run files (one per round)."""
    sys.path.insert(0, str(harness))
    from series import med, medians  # the harness's own medians, so figures compare

    runs = []
    for n, path in enumerate(files, 1):
        run = json.loads(path.read_text())["runs"][0]
        runs.append({**run, "run": n})
    first = json.loads(files[0].read_text())
    summary = {
        "label": label,
        "runs_n": len(runs),
        "all_runs_valid": all(r["bench"]["valid"] for r in runs),
        "errors_all_runs": sum(r["bench"]["errors_total"] for r in runs),
        "startup_s_median": med([r["startup_s"] for r in runs]),
        "rss_idle_mib_median": med([r["rss_idle_mib"] for r in runs]),
        "rss_after_load_mib_median": med([r["rss_after_load_mib"] for r in runs]),
        "restart_on_populated_db": None,
        "medians": medians(runs),
        "start_cmd": first["start_cmd"],
        "bench_args": first["bench_args"],
        "runs": runs,
    }
    (results / f"{label}.json").write_text(json.dumps(summary, indent=1))
    return summary


def limit_system(pg: PostgresServer, port: int) -> System:
    dsn = f"host=127.0.0.1 port={pg.port} user={SUPERUSER} dbname=limit_bench"
    return System(
        "pg-limit",
        f"{sys.executable} {ROOT / 'bench' / 'limit_postgres.py'} --dsn {shlex.quote(dsn)} "
        f"--port {port}",
        recreate(pg, "limit_bench"),
        # limit_server.py's workloads in compare_servers.py: it has no other queries.
        ["--workloads", "W1,W2,W4a", "--procs", "2"],
    )


def prefect_system(a: argparse.Namespace, pg: PostgresServer, work: Path, port: int) -> System:
    python = a.prefect_venv / "bin" / "python"
    # The cached venv was built elsewhere and moved: its bin/prefect and bin/pip
    # shebangs point at the old path, so both are run as modules of its python.
    probe = subprocess.run([python, "-c", "import asyncpg"], capture_output=True, check=False)
    if probe.returncode != 0:
        subprocess.run([python, "-m", "pip", "install", "--quiet", "asyncpg"], check=True)
    home = work / "prefect-home"
    url = f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{pg.port}/prefect_bench"
    services = "" if a.prefect_services else " --no-services"
    args = ["--workloads", "W1,W2,W4", "--procs", "2"]
    if a.prefect_scale:
        args = ["--workloads", "W1,W2,W4,W6", "--procs", "2", "--scale", str(a.prefect_scale)]
    return System(
        "pg-prefect-3.9.1",
        f"env PREFECT_HOME={home} PREFECT_API_DATABASE_CONNECTION_URL={url} "
        f"{python} -m prefect server start --host 127.0.0.1 --port {port}{services}",
        recreate(pg, "prefect_bench", also=f"rm -rf {home}"),
        args,
    )


def print_targets(
    a: argparse.Namespace,
    one: dict | None,
    two: dict | None,
    prefect: dict | None,
    bare: dict | None,
) -> None:
    def cpu(r: dict | None, w: str) -> float | None:
        return median(r, w, "server_cpu_ms_per_op")

    # Creates per second of server CPU = 1000 / (server CPU ms per create), so the
    # runfolio/Prefect ratio of the former is Prefect's CPU per create over ours.
    rows: list[tuple[str, float | None, str]] = [
        ("W1 server CPU ms per create, 1 worker", cpu(one, W1), ""),
        ("W1 server CPU ms per create, 2 workers", cpu(two, W1), ""),
        ("W1 server CPU ms per create, Prefect", cpu(prefect, W1), ""),
        ("W1 server CPU ms per create, bare pg-limit", cpu(bare, W1), ""),
        ("W1 server CPU per create, runfolio 1w / bare", _ratio(cpu(one, W1), cpu(bare, W1)),
         "≤ 1.5"),
        ("W2 server CPU per create, runfolio 1w / bare", _ratio(cpu(one, W2), cpu(bare, W2)),
         "≤ 1.5"),
        ("W1 sequential creates/s, runfolio 1w / bare",
         _ratio(median(one, W1, "ops_per_s"), median(bare, W1, "ops_per_s")), "≥ 0.7"),
        ("W1 creates per CPU-s, runfolio 1w / Prefect",
         _ratio(cpu(prefect, W1), cpu(one, W1)), "≥ 10"),
        ("W2 creates per CPU-s, runfolio 1w / Prefect",
         _ratio(cpu(prefect, W2), cpu(one, W2)), "≥ 10"),
        ("W2 creates per CPU-s, runfolio 2w / Prefect",
         _ratio(cpu(prefect, W2), cpu(two, W2)), "≥ 10"),
        ("W1 sequential creates/s, runfolio 1w / Prefect",
         _ratio(median(one, W1, "ops_per_s"), median(prefect, W1, "ops_per_s")), ""),
        ("W2 p99 ms, 8 clients, 1 worker", median(one, W2, "p99_ms"), "≤ 50"),
        ("W2 p99 ms, 8 clients, 2 workers", median(two, W2, "p99_ms"), "≤ 50"),
        ("W2 p99 ms, 8 clients, Prefect", median(prefect, W2, "p99_ms"), ""),
        ("W2 p99 ms, 8 clients, bare pg-limit", median(bare, W2, "p99_ms"), ""),
        ("W2 creates/s, 8 clients, 2 workers / 1 worker",
         _ratio(median(two, W2, "ops_per_s"), median(one, W2, "ops_per_s")), "≥ 1.3"),
    ]  # fmt: skip
    if a.scale:
        rows += [
            (f"W6 latest/filter limit 50 p50 ms at {a.scale}, 1 worker",
             median(one, LATEST, "p50_ms"), "≤ 10"),
            (f"W6 latest/filter limit 50 p99 ms at {a.scale}, 1 worker",
             median(one, LATEST, "p99_ms"), ""),
        ]  # fmt: skip
    if a.scale and a.scale_all:
        rows.append(
            (f"W6 latest/filter limit 50 p50 ms at {a.scale}, 2 workers",
             median(two, LATEST, "p50_ms"), "≤ 10")
        )  # fmt: skip
    if a.prefect_scale:
        rows.append(
            (f"W6 latest/filter limit 50 p50 ms at {a.prefect_scale}, Prefect",
             median(prefect, LATEST, "p50_ms"), "")
        )  # fmt: skip
    print("\n| measure | value | target |\n|---|---|---|")
    for name, value, target in rows:
        shown = "–" if value is None else f"{value:.3g}"
        print(f"| {name} | {shown} | {target} |")
    for label, r in (("1 worker", one), ("2 workers", two), ("Prefect", prefect)):
        loads = load_seconds(r)
        if loads:
            shown = ", ".join(f"{s:.0f} s" for s in loads)
            print(f"\nW6 load ({label}, 8 clients, per run): {shown}")


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
