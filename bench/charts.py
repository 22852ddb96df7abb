#!/usr/bin/env python3
"""What a live chart costs to keep up to date, beside the writes it replaces.

On the embedded client (a SQLite file in a temp dir, nothing else running), for a
line chart already holding N points (N = 100, 1,000, 10,000 by default), medians of
`--runs` calls, round-robin in the same run:

- append: `append_chart_values(id, one_point)` — adds the point to the spec this
  process last wrote (the first append reads it), writes the spec back (PATCH in place);
- update: `update_chart_artifact(id, spec)` with the same N+1 points the caller
  already holds (the baseline: what a script does without `append_chart_values`);
- progress: `update_progress_artifact(id, 50)`, the smallest in-place write
  (the floor).

The ratio append/update is what appending adds to a blind update of the same size
(about nothing once the spec is kept); append/progress what a growing spec costs.
Run by hand, never in CI:

    .venv/bin/python bench/charts.py --points 100 1000 10000 --runs 30
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runfolio.artifacts import (
    append_chart_values,
    create_chart_artifact,
    create_progress_artifact,
    update_chart_artifact,
    update_progress_artifact,
)
from runfolio.client import client_for, reset_client, use_client
from runfolio.settings import Settings


def spec(points: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": {"values": points},
        "mark": "line",
        "encoding": {
            "x": {"field": "step", "type": "quantitative"},
            "y": {"field": "loss", "type": "quantitative"},
        },
    }


def point(i: int) -> dict[str, Any]:
    return {"step": i, "loss": 1.0 / (i + 1), "split": "train"}


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(n: int, runs: int) -> dict[str, float]:
    points = [point(i) for i in range(n)]
    appended = create_chart_artifact(spec(points))
    updated = create_chart_artifact(spec(points))
    progress = create_progress_artifact(10)
    held = list(points)
    counter = {"append": n, "update": n}

    def do_append() -> None:
        append_chart_values(appended, point(counter["append"]))
        counter["append"] += 1

    def do_update() -> None:
        held.append(point(counter["update"]))
        counter["update"] += 1
        update_chart_artifact(updated, spec(held))

    def do_progress() -> None:
        update_progress_artifact(progress, 50)

    results: dict[str, list[float]] = {"append": [], "update": [], "progress": []}
    for _ in range(3):  # round-robin, so a slow moment hits all three alike
        results["append"].append(median_ms(do_append, runs))
        results["update"].append(median_ms(do_update, runs))
        results["progress"].append(median_ms(do_progress, runs))
    return {k: statistics.median(v) for k, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[100, 1000, 10_000])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home", api_url=None, api_key=None)
        client = client_for(settings)
        use_client(client)
        try:
            print(
                "| points | append (ms) | update, whole spec (ms) | progress (ms) "
                "| append / update | append / progress |"
            )
            print("|---:|---:|---:|---:|---:|---:|")
            for n in args.points:
                r = measure(n, args.runs)
                print(
                    f"| {n:,} | {r['append']:.2f} | {r['update']:.2f} | {r['progress']:.2f} "
                    f"| {r['append'] / r['update']:.2f}x | {r['append'] / r['progress']:.1f}x |"
                )
        finally:
            reset_client()
            client.close()


if __name__ == "__main__":
    main()
