#!/usr/bin/env python3
"""A retention pass over 100,000 versions, and what API requests wait meanwhile.

Builds a fresh temp SQLite store of KEYS keys x VERSIONS versions (default 100 x 1,000)
and a policy keeping the last 10 of each, starts a real `runfolio server start` on it,
and runs a client against the server the whole time (one thread reading: a key's
latest and a filter; one thread writing: artifact creates). Measured in the same run:

- pass: the client while the pass runs in this process (as `runfolio gc` does, a
  process apart from the server: its write transactions and the server's queue on
  SQLite's file lock), the pass's total time, and its longest write transaction;
- or (--in-server) the server's own scheduled pass, its start and end seen by counting
  versions every 50 ms (to about 50 ms);
- baseline: the same client right after, for as long again, with no pass running.

Prints JSON: pass seconds, versions deleted, the longest request of each kind during
the pass and in the baseline, p99s, and their ratios. Run by hand, never in CI:

    .venv/bin/python bench/retention_pass.py --keys 100 --versions 1000 --pause 0.05
    .venv/bin/python bench/retention_pass.py --in-server
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.retention_data import add_many, version_count  # noqa: E402
from tests.servers import running_server  # noqa: E402

from runfolio.schemas.common import utcnow  # noqa: E402
from runfolio.schemas.retention import RetentionPolicySet  # noqa: E402
from runfolio.store import retention  # noqa: E402
from runfolio.store.engine import connect, write  # noqa: E402
from runfolio.store.retention_pass import run_pass  # noqa: E402
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, artifacts  # noqa: E402


class Load:
    """A reader and a writer against the server, each recording (start, seconds)."""

    def __init__(self, api_url: str, keys: int) -> None:
        self.api_url = api_url
        self.keys = keys
        self.reads: list[tuple[float, float]] = []
        self.writes: list[tuple[float, float]] = []
        self.errors = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._write, daemon=True),
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _timed(self, into: list[tuple[float, float]], call: Any) -> None:
        started = time.perf_counter()
        try:
            response = call()
            if response.status_code >= 400:
                self.errors += 1
        except httpx.HTTPError:
            self.errors += 1
        into.append((started, time.perf_counter() - started))

    def _read(self) -> None:
        with httpx.Client(base_url=self.api_url, timeout=30) as http:
            n = 0
            while not self._stop.is_set():
                key = f"bulk-{n % self.keys}"
                body = {"limit": 5, "artifacts": {"key": {"any_": [key]}}}
                self._timed(self.reads, lambda k=key: http.get(f"/artifacts/{k}/latest"))
                self._timed(self.reads, lambda b=body: http.post("/artifacts/filter", json=b))
                n += 1

    def _write(self) -> None:
        with httpx.Client(base_url=self.api_url, timeout=30) as http:
            n = 0
            while not self._stop.is_set():
                body = {"key": "bench-writes", "type": "markdown", "data": f"# {n}"}
                self._timed(self.writes, lambda b=body: http.post("/artifacts/", json=b))
                n += 1
                time.sleep(0.005)


def _window(samples: list[tuple[float, float]], start: float, end: float) -> list[float]:
    return [seconds for begun, seconds in samples if start <= begun <= end]


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "n": len(values),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def _bulk_versions(engine: Any) -> int:
    """The versions the policy trims (the client's own writes are of another key)."""
    stmt = select(func.count()).select_from(artifacts).where(artifacts.c.key.like("bulk-%"))
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def _watch_pass(engine: Any, before: int, expected: int) -> tuple[float, float]:
    """When the server's pass started and ended, seen by counting versions every 50 ms."""
    start = end = None
    deadline = time.perf_counter() + 300
    while end is None and time.perf_counter() < deadline:
        count = _bulk_versions(engine)
        now = time.perf_counter()
        if start is None and count < before:
            start = now
        if count <= expected:
            end = now
        time.sleep(0.05)
    if start is None or end is None:
        raise SystemExit("the server's pass did not finish in 5 minutes")
    return start, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--keep-last", type=int, default=10)
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between batches")
    parser.add_argument("--batch", type=int, default=500, help="first transaction's versions")
    parser.add_argument(
        "--in-server", action="store_true", help="time the server's scheduled pass instead"
    )
    parser.add_argument("--baseline-seconds", type=float, default=5.0, help="at least")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="retention-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        engine = connect(f"sqlite:///{home / 'runfolio.db'}")
        made = time.perf_counter()
        add_many(engine, args.keys, args.versions, now=utcnow())
        build_seconds = time.perf_counter() - made
        with write(engine) as conn:
            action = RetentionPolicySet(key_pattern="bulk-*", keep_last=args.keep_last)
            retention.set_policy(conn, DEFAULT_WORKSPACE_ID, action)
        before = version_count(engine)
        # --in-server: the server's own scheduled pass (its first comes 1-2 s after start);
        # else only this script's pass runs.
        env = {"RUNFOLIO_RETENTION_INTERVAL": "2" if args.in_server else "0"}
        expected = before - args.keys * (args.versions - args.keep_last)
        pass_cpu = None
        report = None
        with running_server(home, env) as server, Load(server.api_url, args.keys) as load:
            if args.in_server:
                pass_start, pass_end = _watch_pass(engine, before, expected)
            else:
                time.sleep(1.0)  # warm up
                pass_start, cpu_start = time.perf_counter(), time.thread_time()
                report = run_pass(engine, pause=args.pause, batch_size=args.batch)
                # CPU of this thread only (SQLite's work included; the client's threads
                # not): what the pass costs whatever else the machine runs.
                pass_cpu = time.thread_time() - cpu_start
                pass_end = time.perf_counter()
            base_start = time.perf_counter()
            # The same client for as long again with no pass: the baseline of this run.
            time.sleep(max(args.baseline_seconds, pass_end - pass_start))
            base_end = time.perf_counter()
        deleted = before - _bulk_versions(engine)
        engine.dispose()
    baseline = {
        "reads": _stats(_window(load.reads, base_start, base_end)),
        "writes": _stats(_window(load.writes, base_start, base_end)),
    }
    during = {
        "reads": _stats(_window(load.reads, pass_start, pass_end)),
        "writes": _stats(_window(load.writes, pass_start, pass_end)),
    }

    def ratio(kind: str, stat: str) -> float | None:
        base = baseline[kind].get(stat)
        return round(during[kind][stat] / base, 2) if base else None

    result = {
        "versions_before": before,
        "where": "server's scheduled pass" if args.in_server else "a process apart (gc)",
        "versions_deleted": deleted,
        "build_seconds": round(build_seconds, 2),
        "pass_seconds": round(pass_end - pass_start, 2),
        "pass_cpu_seconds": None if pass_cpu is None else round(pass_cpu, 2),
        "batch": args.batch,
        "pause_s": args.pause,
        "longest_batch_ms": None if report is None else round(report.longest_batch * 1000, 1),
        "transactions": None if report is None else report.transactions,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "baseline": baseline,
        "during_pass": during,
        "ratio_max_read": ratio("reads", "max_ms"),
        "ratio_max_write": ratio("writes", "max_ms"),
        "ratio_p99_write": ratio("writes", "p99_ms"),
        "client_errors": load.errors,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
