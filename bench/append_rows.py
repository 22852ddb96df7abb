#!/usr/bin/env python3
"""Appending rows to a large table artifact, beside re-sending the whole table.

Starts a real `runfolio server start` (open; SQLite in a temp home, or the database
of `--database-url`) on 127.0.0.1, creates one table artifact of `--rows` rows
(default 100,000 x 4 columns) over HTTP, then, round-robin in blocks, in the same run:

- append: `POST /api/artifacts/{id}/rows` with `--append` new rows (default 100);
- patch: `PATCH /api/artifacts/{id}` with the whole table plus those rows, the
  only way to add rows without the append route (the baseline).

For each it reports the request's wall time on loopback (client side) and the
server process's CPU time per request (utime + stime from /proc; the client's
encoding and PostgreSQL's own processes are not counted): wall medians, CPU means.
Target: an append of 100 rows to a 100,000-row table in at most 20 ms. Run by hand,
never in CI:

    .venv/bin/python bench/append_rows.py --rows 100000 --append 100 --runs 40
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

TARGET_MS = 20.0  # one append of 100 rows to a 100,000-row table
_TICKS = os.sysconf("SC_CLK_TCK")


def make_rows(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "name": f"item-{i}", "score": i * 0.25, "ok": i % 3 == 0}
        for i in range(start, start + count)
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, port: int, database_url: str | None) -> subprocess.Popen[bytes]:
    exe = shutil.which("runfolio", path=str(Path(sys.executable).parent)) or "runfolio"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env.update(RUNFOLIO_HOME=str(home), RUNFOLIO_SERVER_PORT=str(port))
    if database_url:
        env["RUNFOLIO_DATABASE_URL"] = database_url
    proc = subprocess.Popen(
        [exe, "server", "start"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    stop(proc)
    raise RuntimeError("server did not become healthy in 30 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def timed(
    http: httpx.Client, pid: int, method: str, url: str, content: bytes
) -> tuple[float, float]:
    """(wall ms, server CPU ms) of one request whose body is already encoded."""
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    response = http.request(
        method, url, content=content, headers={"content-type": "application/json"}
    )
    wall = time.perf_counter() - started
    response.raise_for_status()
    return wall * 1000, (cpu_seconds(pid) - cpu) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--append", type=int, default=100)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--block", type=int, default=10, help="requests of one kind in a row")
    ap.add_argument(
        "--database-url", help="the server's database (default: SQLite in the temp home)"
    )
    a = ap.parse_args()

    base = make_rows(0, a.rows)
    extra = make_rows(a.rows, a.append)
    # Encoded once, outside the timed part: what each request carries.
    append_body = json.dumps({"rows": extra}).encode()
    patch_body = json.dumps({"data": json.dumps(base + extra)}).encode()

    work = Path(tempfile.mkdtemp(prefix="runfolio-append-bench-"))
    results: dict[str, list[tuple[float, float]]] = {"append": [], "patch": []}
    try:
        port = free_port()
        proc = start_server(work / "home", port, a.database_url)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=300) as http:
                made = http.post("/artifacts/", json={"type": "table", "data": json.dumps(base)})
                made.raise_for_status()
                artifact_id = made.json()["id"]
                rows_url = f"/artifacts/{artifact_id}/rows"
                patch_url = f"/artifacts/{artifact_id}"
                # Warm-up: one of each (imports, caches, the first page reads).
                timed(http, proc.pid, "POST", rows_url, append_body)
                timed(http, proc.pid, "PATCH", patch_url, patch_body)
                # Round-robin in blocks: a PATCH leaves ~7 MB of WAL that a later write
                # checkpoints, so strict alternation would bill each append for the PATCH.
                for i in range(0, a.runs, a.block):
                    n = min(a.block, a.runs - i)
                    for _ in range(n):
                        results["append"].append(
                            timed(http, proc.pid, "POST", rows_url, append_body)
                        )
                    for _ in range(n):
                        results["patch"].append(
                            timed(http, proc.pid, "PATCH", patch_url, patch_body)
                        )
                # Checked outside the timed part: the last append shows at the table's end.
                timed(http, proc.pid, "POST", rows_url, append_body)
                data = json.loads(http.get(patch_url).json()["data"])
                assert len(data) == a.rows + 2 * a.append and data[-1] == extra[-1]
                load = Path("/proc/loadavg").read_text().split()[:3]
        finally:
            stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def summary(name: str) -> dict[str, float]:
        walls = [w for w, _ in results[name]]
        cpus = [c for _, c in results[name]]
        return {
            "wall_ms_median": round(statistics.median(walls), 2),
            "wall_ms_min": round(min(walls), 2),
            "wall_ms_p90": round(sorted(walls)[int(0.9 * (len(walls) - 1))], 2),
            # /proc counts CPU in 10 ms ticks: the mean over many requests resolves finer.
            "server_cpu_ms_mean": round(statistics.fmean(cpus), 2),
        }

    append, patch = summary("append"), summary("patch")
    print(
        json.dumps(
            {
                "database": "postgresql" if a.database_url else "sqlite",
                "table_rows": a.rows,
                "rows_added_per_request": a.append,
                "runs": a.runs,
                "block": a.block,
                "append_body_bytes": len(append_body),
                "patch_body_bytes": len(patch_body),
                "append": append,
                "patch_whole_table": patch,
                "ratio_patch_to_append_wall": round(
                    patch["wall_ms_median"] / append["wall_ms_median"], 1
                ),
                "load_average_at_end": load,
                "target_ms": TARGET_MS,
                "meets_target": append["wall_ms_median"] <= TARGET_MS,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
