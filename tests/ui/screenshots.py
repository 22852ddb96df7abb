"""Screenshots of the main pages, on a fresh server filled with demo data.

    .venv/bin/python -m tests.ui.screenshots            # writes docs/screenshots/*.png

`test_screenshots.py` runs the same code into a temp dir, so this cannot rot.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from tests.servers import free_port, running_server
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.ui.seed import Seed

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

REPORT = """# Sales Report

## Summary
In the past quarter, our company saw a significant increase in sales, with a total revenue of
$1,000,000. This represents a **20% increase** over the same period last year.

## Sales by Region

| Region        | Revenue  |
|:--------------|---------:|
| North America | $500,000 |
| Europe        | $250,000 |
| Asia          | $150,000 |
| South America |  $75,000 |
| Africa        |  $25,000 |

## Top Products
1. Product A - $300,000 in revenue
2. Product B - $200,000 in revenue
3. Product C - $150,000 in revenue
"""

CHART = """<svg xmlns="http://www.w3.org/2000/svg" width="640" height="260" viewBox="0 0 640 260">
<rect width="640" height="260" fill="#ffffff"/>
<text x="24" y="32" font-family="sans-serif" font-size="16" font-weight="600"
 fill="#111827">Weekly revenue (k$)</text>
<g fill="#3b82f6">{bars}</g>
<line x1="24" y1="228" x2="616" y2="228" stroke="#d1d5db"/>
</svg>"""


def _chart() -> str:
    values = [42, 55, 48, 61, 70, 66, 83, 79, 91, 88, 97, 104]
    bars = "".join(
        f'<rect x="{32 + i * 48}" y="{228 - h:.0f}" width="32" height="{h:.0f}" rx="3"/>'
        for i, h in enumerate(v * 1.7 for v in values)
    )
    return CHART.format(bars=bars)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def image_host() -> Iterator[str]:
    """A tiny HTTP server on loopback serving the demo chart (image artifacts are URLs)."""
    folder = Path(tempfile.mkdtemp())
    (folder / "weekly-revenue.svg").write_text(_chart())
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _run(
    seed: Seed,
    flow: str,
    name: str,
    start: dt.datetime,
    tasks: Sequence[tuple[str, float, float | None, str]],
    end: tuple[float, str] | None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A flow run whose tasks ran from/to the given seconds after `start`."""
    run = seed.flow_run(flow, name=name, parameters={"date": start.date().isoformat()})
    seed.set_state("flow_runs", run["id"], "RUNNING", start)
    made = {}
    for key, begin, finish, state in tasks:
        task = seed.task_run(run["id"], key)
        made[key] = task
        if begin >= 0:
            seed.set_state("task_runs", task["id"], "RUNNING", start + dt.timedelta(seconds=begin))
        if finish is not None:
            seed.set_state("task_runs", task["id"], state, start + dt.timedelta(seconds=finish))
    if end is not None:
        seed.set_state("flow_runs", run["id"], end[1], start + dt.timedelta(seconds=end[0]))
    return run, made


def seed_demo(seed: Seed, images: str) -> dict[str, str]:
    """Demo flows, runs and artifacts; returns the ids the screenshots need."""
    now = dt.datetime.now(dt.UTC)
    etl = [
        ("extract-orders", 0, 18, "COMPLETED"),
        ("clean-orders", 18, 40, "COMPLETED"),
        ("enrich-customers", 20, 52, "COMPLETED"),
        ("load-warehouse", 52, 95, "COMPLETED"),
        ("publish-report", 95, 102, "COMPLETED"),
    ]
    for day, (name, outcome) in enumerate([("amber-falcon", "COMPLETED"), ("bold-lynx", "FAILED")]):
        start = now - dt.timedelta(days=2 - day, minutes=12)
        steps = etl if outcome == "COMPLETED" else [*etl[:3], ("load-warehouse", 52, 70, "FAILED")]
        run, tasks = _run(seed, "nightly-sales-etl", name, start, steps, (103, outcome))
        seed.artifact(
            key="sales-report",
            type="markdown",
            data=REPORT.replace("20%", f"{18 + day}%"),
            description="Quarterly sales report for the **GTM** team.",
            flow_run_id=run["id"],
            task_run_id=tasks["extract-orders"]["id"],
        )
        seed.artifact(
            key="irregular-data",
            type="markdown",
            data=f"[highly_variable_data_{day}.csv](https://example.com/bucket/data_{day}.csv)",
            description="## Highly variable data",
            flow_run_id=run["id"],
        )
    customers = ["John Smith", "Jane Jones", "Ana Lima", "Kenji Sato", "Olu Ade", "Mia Berg"]
    table = [
        {
            "customer_id": f"{12345 + i * 4111}",
            "name": customers[i % 6],
            "churn": round(0.9 - i * 0.03, 2),
        }
        for i in range(24)
    ]
    start = now - dt.timedelta(seconds=70)
    live_tasks = [
        ("extract-orders", 0, 14, "COMPLETED"),
        ("clean-orders", 14, 31, "COMPLETED"),
        ("enrich-customers", 16, 38, "COMPLETED"),
        ("load-warehouse", 38, None, "RUNNING"),
        ("publish-report", -1, None, "PENDING"),
    ]
    run, tasks = _run(seed, "nightly-sales-etl", "quiet-heron", start, live_tasks, None)
    seed.artifact(
        key="personalized-reachout",
        type="table",
        data=json.dumps(table),
        description="# Marvin, please reach out to these customers today!",
        flow_run_id=run["id"],
        task_run_id=tasks["enrich-customers"]["id"],
    )
    for key, value in [
        ("extract-orders", 100.0),
        ("clean-orders", 100.0),
        ("load-warehouse", 64.0),
    ]:
        seed.artifact(
            type="progress",
            data=value,
            description=f"Progress of {key}",
            flow_run_id=run["id"],
            task_run_id=tasks[key]["id"],
        )
    seed.artifact(
        key="weekly-revenue-chart",
        type="image",
        data=f"{images}/weekly-revenue.svg",
        description="Weekly revenue, last 12 weeks",
        flow_run_id=run["id"],
    )
    seed.artifact(
        type="markdown",
        data="Loaded **12,408** orders from `s3://sales/orders/`.",
        flow_run_id=run["id"],
        task_run_id=tasks["extract-orders"]["id"],
    )
    train, _ = _run(
        seed,
        "model-training",
        "gentle-moose",
        now - dt.timedelta(hours=5),
        [("fit", 0, 340, "COMPLETED"), ("evaluate", 340, 388, "COMPLETED")],
        (390, "COMPLETED"),
    )
    seed.artifact(
        key="training-metrics",
        type="table",
        data=json.dumps({"epoch": [1, 2, 3, 4], "loss": [0.91, 0.55, 0.41, 0.37]}),
        description="Loss per epoch",
        flow_run_id=train["id"],
    )
    seed.artifact(key="model-accuracy", type="progress", data=93.5, flow_run_id=train["id"])
    return {"live_run": run["id"]}


def capture(browser: Browser, base_url: str, ids: dict[str, str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 820}, device_scale_factor=1
    )
    page = context.new_page()
    shots = {
        "artifacts": "/artifacts",
        "artifact-markdown": "/artifacts/key/sales-report",
        "artifact-table": "/artifacts/key/personalized-reachout",
        "artifact-image": "/artifacts/key/weekly-revenue-chart",
        "run": f"/runs/{ids['live_run']}",
        "runs": "/runs",
    }
    written = []
    for name, path in shots.items():
        page.goto(path, wait_until="load")
        page.wait_for_timeout(300)
        target = out / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        written.append(target)
    context.close()
    return written


def main(out: Path = DOCS) -> None:
    with (
        tempfile.TemporaryDirectory() as home,
        running_server(Path(home)) as server,
        image_host() as images,
        sync_playwright() as pw,
    ):
        seed = Seed(server.api_url)
        ids = seed_demo(seed, images)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for path in capture(browser, server.url, ids, out):
            print(path)
        browser.close()
        seed.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS)
