"""Pushed updates in a real browser: an open page follows writes made through the API
(progress, appended table rows, rewritten markdown, new keys) without a reload, and
polls while its stream is away."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.servers import ServerProcess
from tests.ui.seed import Seed, unique

pytestmark = pytest.mark.browser

# Collects the ids of "runfolio:artifact-changed" events, as another script would.
LISTEN = """() => {
  window.__changed = [];
  window.__sameDocument = true;
  document.addEventListener("runfolio:artifact-changed", e => window.__changed.push(e.detail.id));
}"""


def _open(page: Page, path: str) -> None:
    page.goto(path)
    expect(page.locator("main")).to_have_attribute("data-stream", "open")
    page.evaluate(LISTEN)


def test_a_progress_bar_follows_the_api_without_polling(page: Page, seed: Seed) -> None:
    run = seed.flow_run("live-push", name=unique("push-run"))
    seed.set_state("flow_runs", run["id"], "RUNNING")
    progress = seed.artifact(type="progress", data=5.0, flow_run_id=run["id"])
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/api/ui/live" in r.url else None)

    _open(page, f"/artifacts/{progress['id']}")
    expect(page.locator("main")).to_have_attribute("data-live", "streaming")
    label = page.locator(f"[data-progress-label='{progress['id']}']")
    expect(label).to_have_text("5%")
    page.wait_for_timeout(700)  # (what changed since the page was drawn is fetched once)
    before = len(polls)
    page.wait_for_timeout(1500)  # a polling page would have asked at least once by now
    assert len(polls) == before

    seed.patch(progress["id"], data=42.5)
    expect(label).to_have_text("42.5%", timeout=2000)
    fill = page.locator(f"[data-progress='{progress['id']}'] .progress-fill")
    expect(fill).to_have_attribute("style", re.compile(r"width: 42\.5%"))
    seed.set_state("flow_runs", run["id"], "COMPLETED")
    expect(page.locator("main")).to_have_attribute("data-live", "finished", timeout=2000)
    assert page.evaluate("window.__changed") == [progress["id"]]
    assert page.evaluate("window.__sameDocument") is True


def test_appended_rows_and_rewritten_markdown_show_in_place(
    page: Page, seed: Seed, ui_server: ServerProcess
) -> None:
    table = seed.artifact(key=unique("live-table"), type="table", data=[{"city": "Lyon", "n": 1}])
    _open(page, f"/artifacts/{table['id']}")
    rows = page.locator("[data-renderer=table] tbody tr")
    expect(rows).to_have_count(1)
    appended = httpx.post(
        f"{ui_server.api_url}/artifacts/{table['id']}/rows",
        json={"rows": [{"city": "Oslo", "n": 2}, {"city": "Quito", "n": 3}]},
    )
    assert appended.status_code == 200, appended.text
    expect(rows).to_have_count(3, timeout=2000)
    expect(rows.nth(2)).to_contain_text("Quito")
    # The table drawn again is set up again: its columns still sort.
    page.locator("[data-renderer=table] thead th").first.locator("button").click()
    expect(page.locator("[data-renderer=table] thead th").first).to_have_attribute(
        "aria-sort", "ascending"
    )
    assert page.evaluate("window.__changed") == [table["id"]]

    key = unique("live-notes")
    notes = seed.artifact(key=key, type="markdown", data="# Draft")
    _open(page, f"/artifacts/key/{key}")
    expect(page.locator("[data-renderer=markdown] h1")).to_have_text("Draft")
    seed.patch(notes["id"], data="# Final\n\nAll *done*.")
    expect(page.locator("[data-renderer=markdown] h1")).to_have_text("Final", timeout=2000)
    expect(page.locator("[data-renderer=markdown] em")).to_have_text("done")
    # A new version of the key takes the page's place, and joins the timeline.
    newer = seed.artifact(key=key, type="markdown", data="# Second version")
    expect(page.locator("[data-renderer=markdown] h1")).to_have_text("Second version")
    expect(page.locator("#versions .timeline-item")).to_have_count(2)
    assert page.evaluate("window.__changed") == [notes["id"], newer["id"]]
    assert page.evaluate("window.__sameDocument") is True


def test_the_artifacts_list_shows_a_new_key(page: Page, seed: Seed) -> None:
    _open(page, "/artifacts")
    key = unique("live-list")
    seed.artifact(key=key, type="markdown", data="new")
    expect(page.locator(f"#artifact-list tr[data-key='{key}']")).to_be_visible(timeout=2000)
    assert page.evaluate("window.__sameDocument") is True


def test_a_page_polls_while_its_stream_is_away(page: Page, seed: Seed, problems: list[str]) -> None:
    refused: list[str] = []

    def refuse(route: Route) -> None:
        refused.append(route.request.url)
        route.fulfill(status=503, json={"detail": "away"}, headers={"Retry-After": "1"})

    page.route("**/api/ui/stream?**", refuse)
    run = seed.flow_run("live-push", name=unique("fallback-run"))
    seed.set_state("flow_runs", run["id"], "RUNNING")
    progress = seed.artifact(type="progress", data=1.0, flow_run_id=run["id"])
    page.goto(f"/artifacts/{progress['id']}")
    page.evaluate(LISTEN)
    expect(page.locator("main")).to_have_attribute("data-live", "polling")
    expect(page.locator("main")).to_have_attribute("data-stream", "closed")
    seed.patch(progress["id"], data=64.0)
    label = page.locator(f"[data-progress-label='{progress['id']}']")
    expect(label).to_have_text("64%", timeout=5000)
    assert refused

    page.unroute("**/api/ui/stream?**")  # the stream is back: the page listens again
    expect(page.locator("main")).to_have_attribute("data-live", "streaming", timeout=10_000)
    seed.patch(progress["id"], data=80.0)
    expect(label).to_have_text("80%", timeout=2000)
    assert page.evaluate("window.__sameDocument") is True
    # The refused stream is reported by the browser itself; nothing else went wrong.
    problems[:] = [p for p in problems if "503" not in p]


VISIBILITY = """hidden => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible")
  });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_hidden_tab_lets_its_stream_go_and_catches_up_when_shown(page: Page, seed: Seed) -> None:
    key = unique("live-hidden")
    notes = seed.artifact(key=key, type="markdown", data="# Before")
    _open(page, f"/artifacts/key/{key}")
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/api/ui/stream" in r.url else None)
    page.evaluate(VISIBILITY, True)
    expect(page.locator("main")).to_have_attribute("data-stream", "paused")
    seed.patch(notes["id"], data="# While hidden")
    page.wait_for_timeout(300)
    expect(page.locator("[data-renderer=markdown] h1")).to_have_text("Before")

    page.evaluate(VISIBILITY, False)
    expect(page.locator("main")).to_have_attribute("data-stream", "open")
    expect(page.locator("[data-renderer=markdown] h1")).to_have_text("While hidden")
    # The new stream starts from now (no replay of what the page already had).
    assert streams and all("since=" not in url for url in streams)
    assert page.evaluate("window.__sameDocument") is True


def test_a_run_page_shows_new_task_runs_and_artifacts_and_a_deleted_one_says_so(
    page: Page, seed: Seed, ui_server: ServerProcess, problems: list[str]
) -> None:
    run = seed.flow_run("live-push", name=unique("run-page"))
    seed.set_state("flow_runs", run["id"], "RUNNING")
    _open(page, f"/runs/{run['id']}")
    task = seed.task_run(run["id"], "late-task")
    page.get_by_role("tab", name=re.compile("Task runs")).click()
    expect(page.locator("#panel-tasks")).to_contain_text(task["id"], timeout=2000)
    page.get_by_role("tab", name=re.compile("Artifacts")).click()
    made = seed.artifact(type="markdown", data="# Late report", flow_run_id=run["id"])
    expect(page.locator("#panel-artifacts [data-renderer=markdown] h1")).to_have_text(
        "Late report", timeout=2000
    )
    assert page.evaluate("window.__sameDocument") is True

    _open(page, f"/artifacts/{made['id']}")
    deleted = httpx.delete(f"{ui_server.api_url}/artifacts/{made['id']}")
    assert deleted.status_code == 204, deleted.text
    expect(page.locator("main > p.notice[role=status]")).to_contain_text("deleted")
    expect(page.locator("[data-renderer=markdown] h1")).to_have_text("Late report")
    # The browser reports the page's 404 on the console; nothing else may appear.
    problems[:] = [p for p in problems if "404" not in p]
