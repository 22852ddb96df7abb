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

from playwright.sync_api import Browser, Page, sync_playwright

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


HTML_REPORT = """<!doctype html><html><head><style>
body { font: 14px/1.5 system-ui, sans-serif; color: #111827; margin: 20px 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } p.sub { color: #6b7280; margin: 0 0 16px; }
.kpis { display: flex; gap: 12px; margin-bottom: 18px; }
.kpi { flex: 1; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 14px; }
.kpi b { display: block; font-size: 22px; } .kpi span { color: #6b7280; font-size: 12px; }
.up { color: #15803d; } .down { color: #b91c1c; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e5e7eb; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: 10px; background: #3b82f6; border-radius: 3px; }
</style></head><body>
<h1>Data quality report</h1><p class="sub">orders_2026_11 &middot; 12,408 rows checked</p>
<div class="kpis">
<div class="kpi"><span>Rows passing all checks</span><b class="up">99.2%</b></div>
<div class="kpi"><span>Null customer ids</span><b class="down">41</b></div>
<div class="kpi"><span>Duplicate order ids</span><b>0</b></div>
<div class="kpi"><span>Checks run</span><b id="checks"></b></div>
</div>
<table><thead><tr><th>Check</th><th>Failures</th><th></th></tr></thead><tbody id="rows">
</tbody></table>
<script>
// Drawn by the report's own script: scripts run in the sandboxed frame.
var checks = [["customer_id not null", 41], ["amount >= 0", 22], ["currency in ISO 4217", 17],
  ["order_date <= ship_date", 9], ["order_id unique", 0]];
document.getElementById("checks").textContent = checks.length;
checks.forEach(function (c) {
  var tr = document.createElement("tr");
  tr.innerHTML = "<td></td><td class=num></td><td><span class=bar></span></td>";
  tr.children[0].textContent = c[0];
  tr.children[1].textContent = c[1];
  tr.querySelector(".bar").style.width = (c[1] * 6 + 2) + "px";
  document.getElementById("rows").appendChild(tr);
});
</script></body></html>"""


def _loss_chart() -> dict[str, Any]:
    """A Vega-Lite spec: training and validation loss per epoch."""
    values = []
    for epoch in range(1, 21):
        train = 0.25 + 0.9 * 0.82**epoch
        values.append({"epoch": epoch, "split": "train", "loss": round(train, 3)})
        values.append(
            {"epoch": epoch, "split": "validation", "loss": round(train + 0.04 + 0.002 * epoch, 3)}
        )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": "Loss by epoch",
        "width": 640,
        "height": 280,
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative"},
            "y": {"field": "loss", "type": "quantitative", "scale": {"zero": False}},
            "color": {"field": "split", "type": "nominal"},
        },
    }


def _orders_csv() -> bytes:
    regions = ["North America", "Europe", "Asia", "South America", "Africa"]
    lines = ["order_id,region,customer,amount,currency,order_date"]
    for i in range(40):
        amount = 40 + (i * 37) % 260 + (i % 7) * 0.25
        day = 1 + i % 28
        customer = f"C-{4100 + (i * 13) % 900}"
        lines.append(f"{100230 + i},{regions[i % 5]},{customer},{amount:.2f},USD,2026-11-{day:02d}")
    return ("\n".join(lines) + "\n").encode()


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
    etl_runs = []
    for day, (name, outcome) in enumerate([("amber-falcon", "COMPLETED"), ("bold-lynx", "FAILED")]):
        start = now - dt.timedelta(days=2 - day, minutes=12)
        steps = etl if outcome == "COMPLETED" else [*etl[:3], ("load-warehouse", 52, 70, "FAILED")]
        run, tasks = _run(seed, "nightly-sales-etl", name, start, steps, (103, outcome))
        etl_runs.append(run)
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
    seed.artifact(
        key="loss-curve",
        type="chart",
        data=_loss_chart(),
        description="Training and validation loss (Vega-Lite)",
        flow_run_id=train["id"],
    )
    _seed_metrics(seed)
    _seed_regional_revenue(seed, [etl_runs[0]["id"], etl_runs[1]["id"]])
    seed.artifact(
        key="data-quality-report",
        type="html",
        data=HTML_REPORT,
        description="Checks of the nightly orders extract",
        flow_run_id=etl_runs[1]["id"],
    )
    orders = _upload(seed, _orders_csv(), "text/csv", "orders_2026_11.csv")
    seed.artifact(
        key="orders-extract",
        type="file",
        data={**orders, "filename": "orders_2026_11.csv"},
        description="The orders extracted last night, as CSV",
        # A finished run's: the live run's page is shot whole, and a lazily loaded
        # preview frame below the fold would show blank there.
        flow_run_id=etl_runs[1]["id"],
    )
    _seed_load_batches(seed, run["id"], tasks["load-warehouse"]["id"])
    return {"live_run": run["id"]}


def _upload(seed: Seed, content: bytes, content_type: str, filename: str) -> dict[str, Any]:
    """Bytes into the server's blob store (POST /api/blobs), as `create_file_artifact` does."""
    response = seed.http.post(
        "/blobs",
        content=content,
        headers={"Content-Type": content_type},
        params={"filename": filename},
    )
    assert response.status_code in (200, 201), response.text
    blob: dict[str, Any] = response.json()
    return blob


def _seed_metrics(seed: Seed) -> None:
    """A one-row metrics table published by eight nightly evaluations: its trends."""
    accuracy = [0.812, 0.834, 0.829, 0.851, 0.866, 0.861, 0.879, 0.893]
    loss = [0.62, 0.55, 0.57, 0.49, 0.44, 0.46, 0.40, 0.36]
    for acc, value in zip(accuracy, loss, strict=True):
        seed.artifact(
            key="model-metrics",
            type="table",
            data=json.dumps([{"accuracy": acc, "loss": value}]),
            description="Evaluation of the nightly model",
        )


def _seed_regional_revenue(seed: Seed, runs: list[str]) -> None:
    """Two versions of a table, a night apart: changed, added and removed rows to compare."""
    before = [
        ("North America", 500_000, 4_120),
        ("Europe", 250_000, 2_310),
        ("Asia", 150_000, 1_404),
        ("South America", 75_000, 702),
        ("Africa", 25_000, 233),
    ]
    after = [
        ("North America", 512_400, 4_188),
        ("Europe", 250_000, 2_310),
        ("Asia", 171_900, 1_566),
        ("South America", 75_000, 702),
        ("Oceania", 18_200, 160),
    ]
    for rows, run_id in zip((before, after), runs, strict=True):
        seed.artifact(
            key="regional-revenue",
            type="table",
            data=json.dumps([{"region": r, "revenue": v, "orders": n} for r, v, n in rows]),
            description="Revenue by region",
            flow_run_id=run_id,
        )


def _seed_load_batches(seed: Seed, run_id: str, task_run_id: str) -> None:
    """A table updated in place while the run loads: a row appended per batch."""

    def batch(n: int) -> dict[str, Any]:
        return {
            "batch": n,
            "rows": 1_000 + (n * 211) % 400,
            "seconds": round(2.1 + (n % 3) * 0.4, 1),
        }

    table = seed.artifact(
        key="warehouse-load-batches",
        type="table",
        data=json.dumps([batch(1), batch(2)]),
        description="Batches loaded into the warehouse so far",
        flow_run_id=run_id,
        task_run_id=task_run_id,
    )
    for rows in ([batch(3)], [batch(4), batch(5)], [batch(6)]):
        response = seed.http.post(f"/artifacts/{table['id']}/rows", json={"rows": rows})
        assert response.status_code == 200, response.text


# Each page, and what shows it is ready (drawn in the browser, or frames loaded).
SHOTS: list[tuple[str, str, str | None]] = [
    ("artifacts", "/artifacts", None),
    ("artifact-markdown", "/artifacts/key/sales-report", None),
    ("artifact-table", "/artifacts/key/personalized-reachout", None),
    ("artifact-image", "/artifacts/key/weekly-revenue-chart", None),
    (
        "artifact-chart",
        "/artifacts/key/loss-curve",
        "figure[data-chart][data-chart-state=drawn] svg.marks",
    ),
    ("artifact-html", "/artifacts/key/data-quality-report", "iframe.html-frame"),
    ("artifact-file", "/artifacts/key/orders-extract", "iframe.text-preview"),
    (
        "artifact-table-appended",
        "/artifacts/key/warehouse-load-batches",
        ".artifact-changes .rows-appended",
    ),
    ("compare", "/artifacts/key/regional-revenue/compare?from=1&to=2", "#compare-summary"),
    ("trends", "/artifacts/key/model-metrics/trends", "figure.trend-panel"),
    ("run", "/runs/{live_run}", None),
    ("runs", "/runs", None),
]

# What must be in a frame before it is shot (its document loaded and scripts run).
FRAME_READY = {
    "iframe.html-frame": "#rows tr",
    "iframe.text-preview": "body",
}


def _wait_for_frame(page: Page, frame_selector: str, content: str) -> None:
    """Until the frame's document shows `content` laid out at the frame's full width (a
    lazily loaded frame is first laid out at the default 300 px)."""
    element = page.locator(frame_selector).first.element_handle()
    frame = element.content_frame()
    box = element.bounding_box()
    assert frame is not None and box is not None, frame_selector
    frame.wait_for_selector(content, state="attached")
    frame.wait_for_function("w => window.innerWidth >= w - 4", arg=box["width"])


def _shoot_with_frames(page: Page, target: Path) -> None:
    """A full-page shot of a page holding frames: the viewport made as tall as the page,
    since Chromium's beyond-the-viewport capture shows a frame's stale first layout."""
    viewport = page.viewport_size
    assert viewport is not None
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": height})
    page.wait_for_timeout(300)
    page.screenshot(path=str(target))
    page.set_viewport_size(viewport)


def capture(browser: Browser, base_url: str, ids: dict[str, str], out: Path) -> list[Path]:
    """One full-page PNG per page of SHOTS; a console error or page error on any fails."""
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 820}, device_scale_factor=1
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    written = []
    for name, path, ready in SHOTS:
        page.goto(path.format(**ids), wait_until="load")
        if ready is not None:
            page.locator(ready).first.wait_for(state="visible")
            if ready in FRAME_READY:
                _wait_for_frame(page, ready, FRAME_READY[ready])
        page.wait_for_timeout(300)
        target = out / f"{name}.png"
        if ready in FRAME_READY:
            _shoot_with_frames(page, target)
        else:
            page.screenshot(path=str(target), full_page=True)
        written.append(target)
        if problems:
            raise RuntimeError(f"{path}: {problems}")
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
