"""Comparing two versions of a 10,000-row table: runfolio's diff against two baselines
measured in the same run.

    .venv/bin/python bench/diff_tables.py [--rows 10000] [--runs 15]

The two versions are what the SDK stores (JSON strings of a list of objects, 6
columns): the second reversed (reordered rows are no change), with 1% of rows having
one changed cell, 0.5% removed and 0.5% added. Timed, median of the runs:

- parse:       json.loads of both versions (what any diff has to do first);
- bare dict:   parse, index rows by key, compare the matched rows as dicts (a
               hand-written keyed diff with no cell-level detail);
- runfolio:    runfolio.history.diff.diff_data (parse, match rows on the key column,
               cells as the UI shows them, changed cells named, counts, models).

Target: runfolio ≤ 300 ms for two 10,000-row tables. Wall and CPU time are both
shown: on a loaded machine the process gets a share of a core, and its CPU time is
what the diff itself costs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from runfolio.history.diff import diff_data

TARGET_MS = 300.0


def _versions(rows: int) -> tuple[str, str]:
    rng = random.Random(1)
    before = [
        {
            "id": i,
            "name": f"item {i}",
            "group": rng.choice("abcdef"),
            "score": rng.random() * 100,
            "count": rng.randint(0, 10_000),
            "note": "é" * (i % 5),
        }
        for i in range(rows)
    ]
    after = [dict(r) for r in reversed(before) if r["id"] % 200 != 7]
    for r in after[:: max(rows // (rows // 100 or 1), 1)][: rows // 100]:
        r["score"] = -1.0
    after += [{"id": rows + i, "name": "new", "group": "z", "score": 0.0, "count": 0, "note": ""}
              for i in range(rows // 200)]  # fmt: skip
    return json.dumps(before), json.dumps(after)


def _parse(a: str, b: str) -> Any:
    return json.loads(a), json.loads(b)


def _bare(a: str, b: str) -> tuple[int, int, int]:
    old, new = json.loads(a), json.loads(b)
    by_key = {r["id"]: r for r in old}
    changed = added = 0
    for r in new:
        was = by_key.pop(r["id"], None)
        if was is None:
            added += 1
        elif was != r:
            changed += 1
    return added, len(by_key), changed


def _runfolio(a: str, b: str) -> Any:
    return diff_data("table", a, "table", b)


def _median_ms(fn: Callable[[str, str], Any], a: str, b: str, runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process, in ms (CPU time is what a
    loaded machine disturbs least)."""
    fn(a, b)  # warm up
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(a, b)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    a, b = _versions(args.rows)
    result = _runfolio(a, b)
    assert result.table is not None
    counts = result.table.counts
    bare = _bare(a, b)
    assert (counts.added, counts.removed, counts.changed) == bare, (counts, bare)

    parse, parse_cpu = _median_ms(_parse, a, b, args.runs)
    bare_ms, bare_cpu = _median_ms(_bare, a, b, args.runs)
    ours, ours_cpu = _median_ms(_runfolio, a, b, args.runs)
    print(f"two tables of {args.rows:,} rows ({len(a) / 1e6:.1f} MB of JSON each); {counts}")
    print(f"{'variant':<10} {'wall ms':>8} {'cpu ms':>7} {'cpu vs parse':>13} {'cpu vs bare':>12}")
    rows = (
        ("parse", parse, parse_cpu),
        ("bare dict", bare_ms, bare_cpu),
        ("runfolio", ours, ours_cpu),
    )
    for name, ms, cpu in rows:
        ratios = f"{cpu / parse_cpu:>12.2f}x {cpu / bare_cpu:>11.2f}x"
        print(f"{name:<10} {ms:>8.1f} {cpu:>7.1f} {ratios}")
    verdict = "met" if ours <= TARGET_MS else "NOT met"
    print(f"target: runfolio ≤ {TARGET_MS:.0f} ms (wall): {verdict} ({ours:.1f} ms)")


if __name__ == "__main__":
    main()
