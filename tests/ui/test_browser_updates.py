"""Artifacts changed in place, in a real browser: "updated … ago" with the exact time on
hover, "N rows appended", and tables showing their appended rows."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.servers import ServerProcess
from tests.ui.seed import Seed, unique

pytestmark = pytest.mark.browser


def _append(seed: Seed, artifact_id: str, rows: list[object]) -> None:
    r = seed.http.post(f"/artifacts/{artifact_id}/rows", json={"rows": rows})
    assert r.status_code == 200, r.text


def test_a_table_with_appended_rows(page: Page, seed: Seed, ui_server: ServerProcess) -> None:
    key = unique("appended")
    table = seed.artifact(
        key=key, type="table", data=json.dumps([{"name": "a", "n": 1}, {"name": "b", "n": 2}])
    )
    _append(seed, table["id"], [{"name": "c", "n": 3}])
    _append(seed, table["id"], [{"name": "d", "n": 4}, {"n": 5, "name": "e"}])
    hostile = '<img src=x onerror="document.title=1">'

    page.goto(f"/artifacts/{table['id']}")
    changes = page.locator(".artifact-changes")
    expect(changes.locator(".rows-appended")).to_have_text("3 rows appended")
    expect(changes.locator(".updated")).to_have_text(
        re.compile(r"^updated (just now|\d+ seconds? ago)$")
    )
    # The exact time is on hover (the title of the relative time).
    title = changes.locator(".updated time").get_attribute("title")
    assert title is not None and re.search(r"\d{4}-\d{2}-\d{2}", title), title
    rows = page.locator("[data-renderer=table] tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.nth(4).locator("td").first).to_have_text("e")

    page.goto(f"/artifacts/key/{key}")  # the key's page shows its latest the same way
    expect(page.locator(".artifact-changes .rows-appended")).to_have_text("3 rows appended")
    expect(page.locator("[data-renderer=table] tbody tr")).to_have_count(5)

    # Appended cells are text like any other: shown as written, never markup.
    _append(seed, table["id"], [{"name": hostile, "n": 6}])
    page.goto(f"/artifacts/{table['id']}")
    expect(page.locator("[data-renderer=table] tbody tr").nth(5).locator("td").first).to_have_text(
        hostile
    )
    expect(page.locator("[data-renderer=table] img")).to_have_count(0)
    assert page.title() != "1"
    with httpx.Client(base_url=ui_server.url) as http:
        twin = http.get(f"/api/ui/artifacts/{table['id']}").json()
        csv = http.get(f"/artifacts/{table['id']}/table.csv").text
    assert twin["artifact"]["rows_appended"] == 4
    names = [row["name"] for row in json.loads(twin["artifact"]["artifact"]["data"])]
    assert names == [*"abcde", hostile]
    assert csv.splitlines()[1:6] == ["a,1", "b,2", "c,3", "d,4", "e,5"]


def test_updated_shows_only_after_a_change(page: Page, seed: Seed) -> None:
    untouched = seed.artifact(type="markdown", data="# as made")
    changed = seed.artifact(type="markdown", data="# first")
    seed.patch(changed["id"], data="# rewritten")

    page.goto(f"/artifacts/{untouched['id']}")
    expect(page.locator(".artifact-body .md h1")).to_have_text("as made")
    expect(page.locator(".artifact-changes")).to_have_count(0)

    page.goto(f"/artifacts/{changed['id']}")
    expect(page.locator(".artifact-body .md h1")).to_have_text("rewritten")
    expect(page.locator(".artifact-changes .updated")).to_contain_text("updated")
    expect(page.locator(".artifact-changes .rows-appended")).to_have_count(0)


def test_run_page_cards_say_so(page: Page, seed: Seed) -> None:
    run = seed.flow_run(unique("appends-flow"))
    table = seed.artifact(type="table", data="[[1, 2]]", flow_run_id=run["id"])
    _append(seed, table["id"], [[3, 4]])

    page.goto(f"/runs/{run['id']}")
    card = page.locator(f"#artifact-{table['id']}")
    expect(card.locator(".rows-appended")).to_have_text("1 row appended")
    expect(card.locator(".updated")).to_contain_text("updated")
    expect(card.locator("[data-renderer=table] tbody tr")).to_have_count(2)
