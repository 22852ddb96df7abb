#!/usr/bin/env python3
"""CSV download of a large table artifact, beside a bare csv-module baseline.

Records one table artifact (default 100,000 rows x 5 columns) in a fresh temp
SQLite database through the SDK's embedded store, starts a real
`runfolio server start` on 127.0.0.1 on a free port, downloads
`/artifacts/<id>/table.csv` several times with httpx, and prints JSON: the
median download time and rows/s, and the time Python's csv module alone takes
to write the same rows to an in-memory buffer (the floor the ratio is against).
Run by hand, never in CI:

    .venv/bin/python bench/csv_export.py --rows 100000 --runs 5
"""

from __future__ import annotations

import argparse
import csv
import io
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

from runfolio.artifacts import create_table_artifact
from runfolio.client import client_for, reset_client, use_client
from runfolio.settings import Settings

TARGET_S = 2.0  # for 100,000 rows on the 2-core reference machine


def make_rows(count: int) -> list[dict[str, Any]]:
    """Mixed cell types, plus an occasional formula-like cell that the export must neutralise."""
    return [
        {
            "id": i,
            "name": f"item-{i}",
            "score": i * 0.25,
            "ok": i % 3 == 0,
            "note": "=SUM(A1:A9)" if i % 1000 == 0 else f"note, {i}",
        }
        for i in range(count)
    ]


def record(home: Path, rows: list[dict[str, Any]]) -> str:
    settings = Settings(home=home, database_url=None, api_url=None, api_key=None)
    use_client(client_for(settings))
    try:
        return str(create_table_artifact(rows, key="bench-csv"))
    finally:
        reset_client()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    exe = shutil.which("runfolio", path=str(Path(sys.executable).parent)) or "runfolio"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env.update(RUNFOLIO_HOME=str(home), RUNFOLIO_SERVER_PORT=str(port))
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


def download(http: httpx.Client, url: str) -> tuple[float, bytes, int]:
    """Seconds to receive the whole body, the body, and how many chunks it came in."""
    started = time.perf_counter()
    with http.stream("GET", url) as response:
        response.raise_for_status()
        parts = list(response.iter_raw())
    return time.perf_counter() - started, b"".join(parts), len(parts)


def baseline(rows: list[dict[str, Any]]) -> float:
    """The same rows through csv.writer into a StringIO, nothing else."""
    columns = list(rows[0])
    started = time.perf_counter()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows([row[c] for c in columns] for row in rows)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()

    rows = make_rows(a.rows)
    work = Path(tempfile.mkdtemp(prefix="runfolio-csv-bench-"))
    try:
        artifact_id = record(work / "home", rows)
        port = free_port()
        proc = start_server(work / "home", port)
        try:
            url = f"http://127.0.0.1:{port}/artifacts/{artifact_id}/table.csv"
            with httpx.Client(timeout=300) as http:
                times, chunks = [], []
                for _ in range(a.runs):
                    seconds, body, count = download(http, url)
                    times.append(seconds)
                    chunks.append(count)
        finally:
            stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # Checked outside the timed part: every row arrived, formulas neutralised.
    parsed = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert len(parsed) == a.rows + 1 and parsed[0] == list(rows[0]), "wrong row count or header"
    assert parsed[1][4] == "'=SUM(A1:A9)", parsed[1]

    floor = statistics.median(baseline(rows) for _ in range(a.runs))
    median = statistics.median(times)
    print(
        json.dumps(
            {
                "rows": a.rows,
                "columns": len(rows[0]),
                "runs": a.runs,
                "bytes": len(body),
                "download_s_median": round(median, 4),
                "download_s_all": [round(t, 4) for t in times],
                "rows_per_s": round(a.rows / median),
                "chunks_received_median": statistics.median(chunks),
                "baseline_csv_module_s_median": round(floor, 4),
                "ratio_download_to_baseline": round(median / floor, 1),
                "target_s": TARGET_S if a.rows == 100_000 else None,
                "meets_target": median < TARGET_S if a.rows == 100_000 else None,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
