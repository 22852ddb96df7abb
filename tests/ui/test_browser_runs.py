"""The flow-run pages in a real browser: run graph, artifacts tab, live updates."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.seed import Seed, unique

pytestmark = pytest.mark.browser


FRACTION = "el => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width"


def _fraction(element: Locator) -> float:
    """How much of its parent's width an element fills (0–1)."""
    return float(element.evaluate(FRACTION))


def _completed_run(seed: Seed) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    run = seed.flow_run("graph-flow", name=unique("graph-run"), parameters={"rows": 1000})
    seed.set_state("flow_runs", run["id"], "RUNNING", t0)
    extract = seed.task_run(run["id"], "extract")
    load = seed.task_run(run["id"], "load")
    seed.set_state("task_runs", extract["id"], "RUNNING", t0 + dt.timedelta(seconds=1))
    seed.set_state("task_runs", extract["id"], "COMPLETED", t0 + dt.timedelta(seconds=40))
    seed.set_state("task_runs", load["id"], "RUNNING", t0 + dt.timedelta(seconds=41))
    seed.set_state("task_runs", load["id"], "FAILED", t0 + dt.timedelta(seconds=100))
    seed.set_state("flow_runs", run["id"], "FAILED", t0 + dt.timedelta(seconds=101))
    return run, extract, load


def test_run_graph_draws_task_bars_and_progress(page: Page, seed: Seed) -> None:
    run, extract, load = _completed_run(seed)
    seed.artifact(type="progress", data=60.0, flow_run_id=run["id"], task_run_id=extract["id"])
    seed.artifact(key=unique("run-report"), type="markdown", data="# Loaded", flow_run_id=run["id"])

    page.goto(f"/runs/{run['id']}")
    expect(page.locator(".page-head .state")).to_have_text("Failed")
    expect(page.locator(".page-head .state")).to_have_class(re.compile("state-failed"))
    rows = page.locator("#run-graph .graph-row[data-task]")
    expect(rows).to_have_count(2)
    expect(rows.locator(".graph-name")).to_have_text(["extract-0", "load-0"])
    first, second = rows.nth(0).locator("[data-bar]"), rows.nth(1).locator("[data-bar]")
    expect(first).to_have_class(re.compile("state-completed"))
    expect(second).to_have_class(re.compile("state-failed"))
    # Bars sit on the time axis: extract (1 s–40 s) starts left of load (41 s–100 s).
    box1, box2 = first.bounding_box(), second.bounding_box()
    assert box1 and box2 and box1["x"] < box2["x"]
    assert box1["x"] + box1["width"] <= box2["x"] + 1
    expect(rows.nth(0).locator("[data-bar-label]")).to_have_text("60%")
    fill = rows.nth(0).locator("[data-bar-progress]")
    expect(fill).to_be_visible()
    assert abs(_fraction(fill) - 0.6) < 0.02
    expect(rows.nth(1).locator("[data-bar-label]")).to_be_hidden()
    expect(page.locator("[data-graph-ticks] .graph-tick").first).to_have_text("0s")

    # The Artifacts tab lists keyless and keyed artifacts, rendered inline.
    panel = page.locator("#panel-artifacts")
    expect(panel).to_be_visible()
    expect(panel.locator(".run-artifact")).to_have_count(2)
    expect(panel.locator("[data-renderer=progress] .progress-label")).to_have_text("60%")
    expect(panel.locator("[data-renderer=markdown] h1")).to_have_text("Loaded")
    expect(panel.locator(".run-artifact-head a.key").first).to_have_text("keyless artifact")

    page.get_by_role("tab", name=re.compile("Parameters")).click()
    expect(page.locator("#panel-artifacts")).to_be_hidden()
    expect(page.locator("#panel-parameters")).to_contain_text("1000")
    # A finished run is not polled.
    assert page.locator("main").get_attribute("data-live-url") is None


def test_runs_page_lists_runs_with_counts(page: Page, seed: Seed) -> None:
    run, _, _ = _completed_run(seed)
    page.goto("/runs?state=FAILED")
    row = page.locator(f"tr[data-run='{run['id']}']")
    expect(row.locator(".state")).to_have_text("Failed")
    expect(row.locator("td.num").nth(1)).to_have_text("2")
    row.get_by_role("link", name=run["name"]).click()
    expect(page).to_have_url(re.compile(f"/runs/{run['id']}"))


def test_progress_and_state_update_live_without_reload(page: Page, seed: Seed) -> None:
    run = seed.flow_run("live-flow", name=unique("live-run"))
    seed.set_state("flow_runs", run["id"], "RUNNING")
    task = seed.task_run(run["id"], "fetch")
    seed.set_state("task_runs", task["id"], "RUNNING")
    progress = seed.artifact(
        key=unique("live-progress"),
        type="progress",
        data=10.0,
        flow_run_id=run["id"],
        task_run_id=task["id"],
    )

    page.goto(f"/runs/{run['id']}")
    # Pushed (streaming), or polled while the stream opens.
    expect(page.locator("main")).to_have_attribute("data-live", re.compile("streaming|polling"))
    page.evaluate("window.__sameDocument = true")
    bar_label = page.locator(f"#task-{task['id']} [data-bar-label]")
    expect(bar_label).to_have_text("10%")

    seed.patch(progress["id"], data=75.0)
    expect(bar_label).to_have_text("75%", timeout=5000)
    label = page.locator(f"[data-progress-label='{progress['id']}']")
    expect(label).to_have_text("75%")
    fill = f"[data-progress='{progress['id']}'] .progress-fill"
    # Looked up on every poll: a redraw may replace the bar's element under a handle.
    page.wait_for_function(
        f"sel => {{ const el = document.querySelector(sel); "
        f"return !!el && ({FRACTION})(el) > 0.7 }}",
        arg=fill,
    )

    later = seed.task_run(run["id"], "store")  # a task that starts later gets its bar
    seed.set_state("task_runs", later["id"], "RUNNING")
    expect(page.locator(f"#task-{later['id']} .graph-name")).to_have_text("store-0", timeout=5000)

    seed.set_state("task_runs", task["id"], "COMPLETED")
    seed.set_state("task_runs", later["id"], "COMPLETED")
    seed.set_state("flow_runs", run["id"], "COMPLETED")
    expect(page.locator(".page-head .state")).to_have_text("Completed", timeout=5000)
    expect(page.locator(f"#task-{task['id']} [data-bar]")).to_have_class(
        re.compile("state-completed")
    )
    expect(page.locator("main")).to_have_attribute("data-live", "finished")
    assert page.evaluate("window.__sameDocument") is True  # never reloaded

    # The artifact's own page updates live too, while its run is going.
    run2 = seed.flow_run("live-flow", name=unique("live-run"))
    seed.set_state("flow_runs", run2["id"], "RUNNING")
    p2 = seed.artifact(type="progress", data=5.0, flow_run_id=run2["id"])
    page.goto(f"/artifacts/{p2['id']}")
    label2 = page.locator(f"[data-progress-label='{p2['id']}']")
    expect(label2).to_have_text("5%")
    seed.patch(p2["id"], data=55.5)
    expect(label2).to_have_text("55.5%", timeout=5000)
    seed.set_state("flow_runs", run2["id"], "COMPLETED")
    expect(page.locator("main")).to_have_attribute("data-live", "finished", timeout=5000)
