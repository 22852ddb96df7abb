"""What the trends chart costs the key page: a key of N versions of a one-row metrics
table (4 numeric columns, a numeric metadata field), the key page's JSON twin (which
reads the newest 200 versions for the chart) against the same version's artifact page
(no chart), in-process on a fresh SQLite file, same run.

    .venv/bin/python bench/key_trends.py [--versions 200] [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from runfolio.server.app import create_app
from runfolio.settings import Settings


def _median_ms(client: TestClient, path: str, runs: int) -> float:
    assert client.get(path).status_code == 200
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        assert client.get(path).status_code == 200
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=None, api_url=None, api_key=None)
        with TestClient(create_app(settings)) as client:
            latest = ""
            for i in range(args.versions):
                row = {"epoch": i, "acc": i / args.versions, "loss": 1 / (i + 1), "n": i * 10}
                body = {
                    "key": "metrics",
                    "type": "table",
                    "data": json.dumps([row]),
                    "metadata_": {"lr": str(0.01 / (i + 1))},
                }
                latest = client.post("/api/artifacts/", json=body).json()["id"]
            page = _median_ms(client, "/api/ui/artifacts/key/metrics", args.runs)
            base = _median_ms(client, f"/api/ui/artifacts/{latest}", args.runs)
            trends = _median_ms(client, "/api/ui/artifacts/key/metrics/trends", args.runs)
    print(f"{args.versions} versions; median of {args.runs} requests")
    print(f"artifact page (no chart)       {base:8.1f} ms  1.00x")
    print(f"key page (with the chart)      {page:8.1f} ms  {page / base:.2f}x")
    print(f"trends twin (series + chart)   {trends:8.1f} ms  {trends / base:.2f}x")


if __name__ == "__main__":
    main()
