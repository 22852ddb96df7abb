"""What the trends chart costs the key page: a key of N versions of a one-row metrics
table (4 numeric columns, a numeric metadata field) against a key of N markdown
versions (no numbers, no chart), their key pages' JSON twins (the chart reads the
newest 50 versions), and the metrics key's trends twin (200 versions), in-process on a
fresh SQLite file, requests taken in turn so load on the machine hits all alike.

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


def _medians_ms(client: TestClient, paths: list[str], runs: int) -> list[float]:
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(runs + 1):
        for i, path in enumerate(paths):
            start = time.perf_counter()
            assert client.get(path).status_code == 200
            times[i].append((time.perf_counter() - start) * 1000)
    return [statistics.median(t[1:]) for t in times]  # the first round warms up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=None, api_url=None, api_key=None)
        with TestClient(create_app(settings)) as client:
            for i in range(args.versions):
                body = {"key": "notes", "type": "markdown", "data": f"# Notes {i}\nText."}
                client.post("/api/artifacts/", json=body)
            for i in range(args.versions):
                row = {"epoch": i, "acc": i / args.versions, "loss": 1 / (i + 1), "n": i * 10}
                body = {
                    "key": "metrics",
                    "type": "table",
                    "data": json.dumps([row]),
                    "metadata_": {"lr": str(0.01 / (i + 1))},
                }
                client.post("/api/artifacts/", json=body)
            paths = [
                "/api/ui/artifacts/key/notes",
                "/api/ui/artifacts/key/metrics",
                "/api/ui/artifacts/key/metrics/trends",
            ]
            base, page, trends = _medians_ms(client, paths, args.runs)
    print(f"{args.versions} versions per key; median of {args.runs} requests each")
    print(f"key page, markdown key (no chart)   {base:8.1f} ms  1.00x")
    print(f"key page, metrics key (chart)       {page:8.1f} ms  {page / base:.2f}x")
    print(f"trends twin, metrics key            {trends:8.1f} ms  {trends / base:.2f}x")


if __name__ == "__main__":
    main()
