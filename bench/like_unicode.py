#!/usr/bin/env python3
"""What a non-ASCII `like_` pattern costs on SQLite against an ASCII one.

An ASCII pattern runs SQLite's own LIKE; one with a non-ASCII character lowercases each
row through `runfolio_lower`, a Python function (store/textfold.py), as PostgreSQL's
ILIKE folds all of Unicode. On a SQLite file of `--rows` flow runs (names like
`nightly-run-00042-ärger`), it times one flow-run filter (limit 200) per pattern,
round-robin over `--rounds`, and prints the medians and the ratio. Run by hand:

    .venv/bin/python bench/like_unicode.py --rows 20000 --rounds 15
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from runfolio.schemas.filters import FlowRunFilter, NameFilter
from runfolio.schemas.runs import FlowCreate, FlowRunCreate
from runfolio.store import runs
from runfolio.store.engine import connect, read, write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID as WS

PATTERNS = {"ascii": "RUN-0004", "non-ascii": "ÄRGER-0004"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = connect(f"sqlite:///{Path(tmp) / 'runfolio.db'}")
        with write(engine) as conn:
            flow, _ = runs.create_flow(conn, WS, FlowCreate(name="nightly"))
            for i in range(args.rows):
                name = f"nightly-run-{i:05d}-ärger-{i:05d}"
                runs.create_flow_run(conn, WS, FlowRunCreate(flow_id=flow.id, name=name))
        times: dict[str, list[float]] = {kind: [] for kind in PATTERNS}
        found: dict[str, int] = {}
        for _ in range(args.rounds):
            for kind, pattern in PATTERNS.items():
                crit = FlowRunFilter(name=NameFilter(like_=pattern))
                start = time.perf_counter()
                with read(engine) as conn:
                    found[kind] = len(runs.filter_flow_runs(conn, WS, crit, limit=200))
                times[kind].append(time.perf_counter() - start)
        engine.dispose()
    print(f"{args.rows} flow runs; both patterns match {found} rows")
    medians = {kind: statistics.median(values) * 1000 for kind, values in times.items()}
    for kind, ms in medians.items():
        print(f"{kind:10} {PATTERNS[kind]!r:14} {ms:8.2f} ms")
    print(f"non-ascii / ascii: {medians['non-ascii'] / medians['ascii']:.2f}")


if __name__ == "__main__":
    main()
