#!/usr/bin/env python3
"""runfolio's server against the bare-ASGI baseline, side by side, with the reference harness.

Runs the harness's `series.py` for each system in turn (fresh server, fresh
database per run), then prints the harness's table plus the ratios our
targets are stated in. Run by hand, never in CI:

    .venv/bin/python bench/compare_servers.py --runs 3 --scale 100000

`--harness` points at the reference harness (default: ../shared/bench beside
the project). Results go to bench/results/ (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HARNESS = ROOT.parent / "shared" / "bench"
PORT = 4271


def series(
    harness: Path,
    results: Path,
    label: str,
    start: str,
    reset: str,
    runs: int,
    bench_args: list[str],
) -> Path:
    cmd = [
        sys.executable,
        str(harness / "series.py"),
        "--label", label,
        "--runs", str(runs),
        "--reset", reset,
        "--start", start,
        "--health", f"http://127.0.0.1:{PORT}/api/health",
        "--idle-s", "3",
        "--results", str(results),
        "--",
        "--api-url", f"http://127.0.0.1:{PORT}/api",
        *bench_args,
    ]  # fmt: skip
    print("$", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    return results / f"{label}.json"


def median(result: dict, workload: str, field: str) -> float | None:
    value = result["medians"].get(workload, {}).get(field)
    return float(value) if value is not None else None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--harness", type=Path, default=DEFAULT_HARNESS)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=int, default=100_000, help="W6: artifacts in the database")
    ap.add_argument("--workloads", default="W1,W2,W3,W4,W5,W6")
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument(
        "--before",
        type=Path,
        help="a checkout of an earlier runfolio (e.g. a `git worktree`): its server is run "
        "in the same series, so a change is measured against its parent in one run",
    )
    a = ap.parse_args()

    a.results.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="runfolio-bench-"))
    runfolio = shutil.which("runfolio", path=str(Path(sys.executable).parent)) or "runfolio"
    bench_args = ["--workloads", a.workloads, "--procs", "2"]
    if "W6" in a.workloads:
        bench_args += ["--scale", str(a.scale)]
    try:
        bare = series(
            a.harness, a.results, "limit-sqlite",
            start=f"{sys.executable} {a.harness / 'limit_server.py'} --mode sqlite "
            f"--db {work / 'limit.db'} --port {PORT}",
            reset=f"rm -f {work / 'limit.db'}*",
            runs=a.runs,
            bench_args=["--workloads", "W1,W2,W4a", "--procs", "2"],
        )  # fmt: skip
        ours = series(
            a.harness, a.results, "runfolio",
            start=f"env RUNFOLIO_HOME={work / 'home'} {runfolio} server start --port {PORT}",
            reset=f"rm -rf {work / 'home'}",
            runs=a.runs,
            bench_args=bench_args,
        )  # fmt: skip
        before = None
        if a.before is not None:
            before = series(
                a.harness, a.results, "runfolio-before",
                start=f"env PYTHONPATH={a.before.resolve() / 'src'} "
                f"RUNFOLIO_HOME={work / 'home-before'} "
                f"{sys.executable} -m runfolio.cli server start --port {PORT}",
                reset=f"rm -rf {work / 'home-before'}",
                runs=a.runs,
                bench_args=bench_args,
            )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)

    tables = [str(ours), str(bare)] + ([str(before)] if before else [])
    subprocess.run([sys.executable, str(a.harness / "report_table.py"), *tables], check=True)
    if before is not None:
        _print_against_before(json.loads(ours.read_text()), json.loads(before.read_text()))
    r, b = json.loads(ours.read_text()), json.loads(bare.read_text())
    rows = {
        "server CPU ms per create (W1)": (
            median(r, "W1_seq_create_markdown", "server_cpu_ms_per_op"),
            "–",
        ),
        "server CPU per create vs bare (W1 ratio)": (
            _ratio(
                median(r, "W1_seq_create_markdown", "server_cpu_ms_per_op"),
                median(b, "W1_seq_create_markdown", "server_cpu_ms_per_op"),
            ),
            "≤ 1.5",
        ),
        "server CPU per create vs bare (W2 ratio)": (
            _ratio(
                median(r, "W2_conc_create_markdown", "server_cpu_ms_per_op"),
                median(b, "W2_conc_create_markdown", "server_cpu_ms_per_op"),
            ),
            "≤ 1.5",
        ),
        "sequential creates vs bare (W1 ops/s ratio)": (
            _ratio(
                median(r, "W1_seq_create_markdown", "ops_per_s"),
                median(b, "W1_seq_create_markdown", "ops_per_s"),
            ),
            "≥ 0.70",
        ),
        "p99 ms, 8 concurrent clients (W2)": (
            median(r, "W2_conc_create_markdown", "p99_ms"),
            "≤ 50",
        ),
        f"latest/filter limit 50 p50 ms at {a.scale} (W6b)": (
            median(r, "W6_queries_at_scale.b_latest_filter_limit50", "p50_ms"),
            "≤ 5",
        ),
        "startup s": (r.get("startup_s_median"), "≤ 1.5"),
        "RSS after load MiB": (r.get("rss_after_load_mib_median"), "≤ 120"),
    }
    print("\n| measure | runfolio | target |\n|---|---|---|")
    for name, (value, target) in rows.items():
        shown = "–" if value is None else f"{value:.3g}"
        print(f"| {name} | {shown} | {target} |")


def _print_against_before(now: dict, then: dict) -> None:
    print("\n| workload | server CPU ms/op now | before | now / before |\n|---|---|---|---|")
    for workload in sorted(now["medians"]):
        a = median(now, workload, "server_cpu_ms_per_op")
        b = median(then, workload, "server_cpu_ms_per_op")
        ratio = _ratio(a, b)
        if a is not None and b is not None and ratio is not None:
            print(f"| {workload} | {a:.3g} | {b:.3g} | {ratio:.2f} |")


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
