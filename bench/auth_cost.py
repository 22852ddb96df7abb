#!/usr/bin/env python3
"""What checking an API key costs: runfolio with auth on against runfolio open, same run.

Runs the reference harness's `series.py` twice on a fresh `runfolio server start`
per run: once open (no users), once with an admin user and a `write` key for the
default workspace, every request sending `Authorization: Bearer <key>`. Prints
server CPU per create and the ratio (target: auth on costs at most 5 % more).
Run by hand, never in CI:

    .venv/bin/python bench/auth_cost.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_servers import DEFAULT_HARNESS, PORT, ROOT, _ratio, median, series  # noqa: E402

# A key written straight into the benchmark's database (the harness must know it
# before the series starts; `runfolio key create` prints a random one).
BENCH_KEY = "rfk_0123456789ab_benchmark-key-not-secret-benchmark-key-not-sec"


def seed(home: Path) -> None:
    """An admin and a write key for the default workspace, in a fresh store under `home`."""
    from runfolio.ops.access import Role
    from runfolio.schemas.common import new_id, utcnow
    from runfolio.store import accounts
    from runfolio.store.engine import connect, write
    from runfolio.store.tables import DEFAULT_WORKSPACE_ID, api_keys

    home.mkdir(parents=True, exist_ok=True)
    engine = connect(f"sqlite:///{home / 'runfolio.db'}")
    with write(engine) as conn:
        user = accounts.create_user(conn, "bench", "bench-password", is_admin=True)
        conn.execute(
            api_keys.insert().values(
                id=new_id(),
                prefix=BENCH_KEY[:16],
                key_hash=accounts.digest(BENCH_KEY),
                name="bench",
                user_id=user.id,
                workspace_id=DEFAULT_WORKSPACE_ID,
                role=Role.WRITE.label,
                created=utcnow(),
            )
        )
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--harness", type=Path, default=DEFAULT_HARNESS)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workloads", default="W1,W2")
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--seed", type=Path, help=argparse.SUPPRESS)  # used by the reset step
    a = ap.parse_args()
    if a.seed is not None:
        seed(a.seed)
        return

    a.results.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="runfolio-auth-bench-"))
    runfolio = shutil.which("runfolio", path=str(Path(sys.executable).parent)) or "runfolio"
    bench_args = ["--workloads", a.workloads, "--procs", "2"]
    try:
        open_ = series(
            a.harness, a.results, "runfolio-open",
            start=f"env RUNFOLIO_HOME={work / 'open'} {runfolio} server start --port {PORT}",
            reset=f"rm -rf {work / 'open'}",
            runs=a.runs,
            bench_args=bench_args,
        )  # fmt: skip
        keyed = series(
            a.harness, a.results, "runfolio-auth",
            start=f"env RUNFOLIO_HOME={work / 'auth'} {runfolio} server start --port {PORT}",
            reset=f"rm -rf {work / 'auth'} && {sys.executable} {__file__} --seed {work / 'auth'}",
            runs=a.runs,
            bench_args=[*bench_args, "--api-key", BENCH_KEY],
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)

    on, off = json.loads(keyed.read_text()), json.loads(open_.read_text())
    print("\n| workload | server CPU ms/op, auth on | open | on / open |\n|---|---|---|---|")
    for workload in sorted(on["medians"]):
        x = median(on, workload, "server_cpu_ms_per_op")
        y = median(off, workload, "server_cpu_ms_per_op")
        ratio = _ratio(x, y)
        if x is not None and y is not None and ratio is not None:
            print(f"| {workload} | {x:.3g} | {y:.3g} | {ratio:.3f} |")
    print("\ntarget: W1 on / open ≤ 1.05")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
